/**
 * What changing a stored message costs: an edit, a reaction and a deletion of one 1:1 message (Alice's
 * seq 2 to Bob, both online on one connection), each with the delivery of its stream record (a
 * `messageUpdated` to both). Run by bench/request-units.ts on the same DynamoDB Local, recorder and
 * stub. Each change is one conditional UpdateItem of the message item, billed by the item's size
 * (1 WRU per KB, before or after, whichever is larger), so a message with many reactions costs more
 * per change; the deletion writes twice when the message has reactions (the mark, then their removal).
 */
import type { DynamoDBRecord } from 'aws-lambda';
import type { PhaseCounter } from './operation-units.ts';
import type { OperationFigures } from './results.ts';

type Frame = Record<string, unknown>;

export interface LifecycleBench {
  readonly counter: PhaseCounter;
  readonly conversationId: string;
  /** A delivered message of the sender's, which nothing has changed yet. */
  readonly seq: number;
  route(
    action: 'editMessage' | 'react' | 'deleteMessage' | 'requestUpload' | 'sendMessage',
    by: 'sender' | 'recipient',
    frame: Frame,
  ): Promise<Frame | undefined>;
  deliver(match: (record: DynamoDBRecord) => boolean): Promise<() => Promise<void>>;
  /** How many messageUpdated frames were posted so far. */
  updatesPosted(): number;
}

export const ATTACHMENT_PHASES = [
  'requestUpload',
  'sendMessage with 1 photo',
  'delivery of a photo',
] as const;
const [REQUEST_UPLOAD, SEND_PHOTO, PHOTO_DELIVERY] = ATTACHMENT_PHASES;

/** A 1 KB "photo": what is measured is the requests around it, not its bytes. */
const PHOTO = new Uint8Array(1024).map((_, index) => index % 251);

/**
 * A message with one photo: requestUpload (its upload item), the client's PUT to the presigned URL
 * (S3, not counted), sendMessage with the attachment (the upload item read, then a HEAD and a copy in
 * S3) and its delivery, whose `message` frame carries a presigned download link.
 */
export async function measureAttachmentUnits(
  bench: LifecycleBench,
): Promise<Record<string, OperationFigures>> {
  const { conversationId } = bench;
  const upload = await bench.counter.count(REQUEST_UPLOAD, () =>
    bench.route('requestUpload', 'sender', {
      action: 'requestUpload',
      clientRequestId: 'bench-photo',
      contentType: 'image/jpeg',
      size: PHOTO.byteLength,
    }),
  );
  const put = await fetch(String(upload?.url), {
    method: 'PUT',
    headers: upload?.headers as Record<string, string>,
    body: PHOTO,
  });
  if (!put.ok) throw new Error(`the upload's PUT answered ${put.status}`);
  const ack = await bench.counter.count(SEND_PHOTO, () =>
    bench.route('sendMessage', 'sender', {
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'bench-photo',
      content: '',
      attachments: [{ uploadId: upload?.uploadId }],
    }),
  );
  const delivered = await bench.deliver(
    (record) =>
      record.eventName === 'INSERT' &&
      record.dynamodb?.NewImage?.type?.S === 'message' &&
      record.dynamodb.NewImage.conversationId?.S === conversationId &&
      record.dynamodb.NewImage.seq?.N === String(ack?.seq),
  );
  await bench.counter.count(PHOTO_DELIVERY, delivered);
  return {
    requestUpload: bench.counter.operation(REQUEST_UPLOAD),
    photoMessageOnline: bench.counter.operation(SEND_PHOTO, PHOTO_DELIVERY),
  };
}

export const LIFECYCLE_PHASES = [
  'editMessage',
  'editMessage delivery',
  'react',
  'react delivery',
  'deleteMessage (with 1 reaction)',
  'deleteMessage delivery',
] as const;
const [EDIT, EDIT_DELIVERY, REACT, REACT_DELIVERY, DELETE, DELETE_DELIVERY] = LIFECYCLE_PHASES;

export async function measureLifecycleUnits(
  bench: LifecycleBench,
): Promise<Record<string, OperationFigures>> {
  const { conversationId, seq } = bench;
  const modifyOf =
    (check: (image: NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>) => boolean) =>
    (record: DynamoDBRecord) => {
      const image = record.dynamodb?.NewImage;
      return (
        record.eventName === 'MODIFY' &&
        image?.type?.S === 'message' &&
        image.conversationId?.S === conversationId &&
        image.seq?.N === String(seq) &&
        check(image)
      );
    };
  const expectUpdates = async (run: () => Promise<void>) => {
    const before = bench.updatesPosted();
    await run();
    // Both members' connections: the changer's own too.
    if (bench.updatesPosted() - before !== 2) throw new Error('a change did not reach both connections');
  };

  await bench.counter.count(EDIT, () =>
    bench.route('editMessage', 'sender', {
      action: 'editMessage',
      conversationId,
      seq,
      content: 'Edited: see you at six',
    }),
  );
  const edited = await bench.deliver(
    modifyOf((image) => image.editedAt !== undefined && image['R#👍'] === undefined),
  );
  await bench.counter.count(EDIT_DELIVERY, () => expectUpdates(edited));

  await bench.counter.count(REACT, () =>
    bench.route('react', 'recipient', { action: 'react', conversationId, seq, emoji: '👍', on: true }),
  );
  const reacted = await bench.deliver(
    modifyOf((image) => image['R#👍'] !== undefined && image.deleted === undefined),
  );
  await bench.counter.count(REACT_DELIVERY, () => expectUpdates(reacted));

  await bench.counter.count(DELETE, () =>
    bench.route('deleteMessage', 'sender', { action: 'deleteMessage', conversationId, seq }),
  );
  // The last change of the deletion: the tombstone without its reactions.
  const deleted = await bench.deliver(
    modifyOf((image) => image.deleted?.BOOL === true && image['R#👍'] === undefined),
  );
  await bench.counter.count(DELETE_DELIVERY, () => expectUpdates(deleted));

  return {
    editMessage: bench.counter.operation(EDIT, EDIT_DELIVERY),
    react: bench.counter.operation(REACT, REACT_DELIVERY),
    deleteMessage: bench.counter.operation(DELETE, DELETE_DELIVERY),
  };
}

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
    action: 'editMessage' | 'react' | 'deleteMessage',
    by: 'sender' | 'recipient',
    frame: Frame,
  ): Promise<Frame | undefined>;
  deliver(match: (record: DynamoDBRecord) => boolean): Promise<() => Promise<void>>;
  /** How many messageUpdated frames were posted so far. */
  updatesPosted(): number;
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

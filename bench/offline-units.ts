/**
 * The 1:1 message to a recipient with no open connection, measured like the online one (bench/
 * request-units.ts runs this in the same process, DynamoDB Local, recorder and stub, whose fake SNS
 * answers the handlers' SNS calls): Dan connects, registers one device (counted as `registerDevice`)
 * and disconnects; Alice's first message makes their direct conversation and is delivered (a push, not
 * counted); then her second message and its delivery are counted. Dan has not read the first, so the
 * push's badge is 2. No `delivered` receipt: no connection of Dan's took the message.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import type { ManagementApiStub } from './management-api-stub.ts';
import type { PhaseCounter } from './operation-units.ts';
import type { OperationFigures } from './results.ts';

type Frame = Record<string, unknown>;
interface Who {
  userId: string;
  name: string;
  connectionId: string;
  deviceId: string;
}

export interface OfflineBench {
  readonly counter: PhaseCounter;
  readonly stub: ManagementApiStub;
  /** The sender, already connected. */
  readonly sender: Who;
  connect(who: Who): Promise<void>;
  disconnect(who: Who): Promise<void>;
  /** Runs a frame route (registerDevice, sendMessage) for `who`; throws on an `error` answer. */
  route(action: 'registerDevice' | 'sendMessage', who: Who, frame: Frame): Promise<Frame | undefined>;
  /** Finds the stream record, then returns what delivers it (so finding it is not counted). */
  deliver(match: (record: DynamoDBRecord) => boolean): Promise<() => Promise<void>>;
  readonly content: string;
}

/** The phases, in the order they run, for the call-by-call tables. */
export const OFFLINE_PHASES = [
  'registerDevice (APNs)',
  'sendMessage, recipient offline',
  'delivery, recipient offline (push)',
] as const;
const [REGISTER, SEND, DELIVERY] = OFFLINE_PHASES;

const DAN: Who = { userId: 'dan', name: 'Dan', connectionId: 'danConnId000=', deviceId: 'dan-phone' };
/** An APNs device token: 32 bytes, in hex. */
const APNS_TOKEN = 'a1'.repeat(32);

export async function measureOfflineUnits(
  bench: OfflineBench,
): Promise<{ registerDevice: OperationFigures; directMessageOffline: OperationFigures }> {
  await bench.connect(DAN);
  await bench.counter.count(REGISTER, () =>
    bench.route('registerDevice', DAN, { action: 'registerDevice', platform: 'apns', token: APNS_TOKEN }),
  );
  await bench.disconnect(DAN);

  const messageTo = (seq: number, conversationId?: string) => async () => {
    const ack = await bench.route('sendMessage', bench.sender, {
      action: 'sendMessage',
      ...(conversationId === undefined ? { to: DAN.userId } : { conversationId }),
      clientMessageId: `bench-offline-${seq}`,
      content: bench.content,
    });
    if (ack?.seq !== seq) throw new Error(`unexpected ack ${JSON.stringify(ack)}`);
    return String(ack.conversationId);
  };
  const insertOf = (conversationId: string, seq: number) => (record: DynamoDBRecord) =>
    record.eventName === 'INSERT' &&
    record.dynamodb?.NewImage?.type?.S === 'message' &&
    record.dynamodb.NewImage.conversationId?.S === conversationId &&
    record.dynamodb.NewImage.seq?.N === String(seq);

  const conversationId = await messageTo(1)();
  await (await bench.deliver(insertOf(conversationId, 1)))();
  await bench.counter.count(SEND, messageTo(2, conversationId));
  await bench.counter.count(DELIVERY, await bench.deliver(insertOf(conversationId, 2)));

  const push = bench.stub.pushes().at(-1);
  if (push?.userId !== DAN.userId || push.data.seq !== 2 || push.badge !== 2)
    throw new Error(`the second message was not pushed to Dan with badge 2: ${JSON.stringify(push)}`);
  return {
    registerDevice: bench.counter.operation(REGISTER),
    directMessageOffline: bench.counter.operation(SEND, DELIVERY),
  };
}

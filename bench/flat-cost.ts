/**
 * Flat cost at scale (architecture.md "Budgets": the delivery cost never grows with the number of users,
 * conversations or messages in the table). The 1:1 message of bench/request-units.ts, Alice to Bob in
 * their direct conversation with Bob online on one connection, with 10, 10,000 and 100,000 other users
 * in the table, each connected and in two direct conversations, with as many messages
 * (bench/seed-table.ts). At each scale one message is counted (sendMessage + delivery, AWS's billing
 * rules, bench/capacity-recorder.ts) and TIMED_MESSAGES more are timed unrecorded: the recorder's own
 * reads would be timed too. The handler modules read TABLE_NAME and DYNAMODB_ENDPOINT when first
 * imported, so this runs in a process of its own: `node bench/flat-cost.ts [--out FILE.json]`.
 */

import { writeFile } from 'node:fs/promises';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { TABLE } from '../definitions/table.ts';
import { runCommandLine } from '../local/cli.ts';
import { createTable } from '../local/create-table.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { toLambdaRecord } from '../local/stream/lambda-records.ts';
import { indexShapesOf } from './billing.ts';
import { CapacityRecorder, type RecordedCall } from './capacity-recorder.ts';
import { startManagementApiStub } from './management-api-stub.ts';
import type { SeedRange } from './seed-table.ts';
import { median } from './stats.ts';
import { heading, textTable } from './text-table.ts';

export const SCALES = [10, 10_000, 100_000] as const;
const TIMED_MESSAGES = 20;

/** One scale's figures: the counted message, and the medians of the timed ones. */
export interface ScaleFigures {
  /** Other users in the table, each with one connection, two direct conversations and a message. */
  readonly otherUsers: number;
  /** Items in the table (DynamoDB Local's DescribeTable), Alice's and Bob's included. */
  readonly items: number;
  /** Time taken to add what this scale has more than the one before. */
  readonly seedSeconds: number;
  /** Write request units of sendMessage + delivery, AWS's rules. */
  readonly wru: number;
  /** Read request units of sendMessage + delivery, AWS's rules. */
  readonly rru: number;
  /** DynamoDB requests of sendMessage + delivery. */
  readonly requests: number;
  readonly postToConnection: number;
  /** Median wall time of the sendMessage handler, in this process against DynamoDB Local. */
  readonly sendMedianMs: number;
  /** Median wall time of the delivery handler on the message's stream record. */
  readonly deliveryMedianMs: number;
}

export interface FlatCostResult {
  readonly scales: readonly ScaleFigures[];
  /** WRU and RRU the same at every scale. */
  readonly unitsFlat: boolean;
}

const TABLE_NAME = 'parley-flat-cost';
const ALICE = { userId: 'alice', name: 'Alice', connectionId: 'aliceConnId0=', deviceId: 'alice-phone' };
const BOB = { userId: 'bob', name: 'Bob', connectionId: 'bobConnId000=', deviceId: 'bob-phone' };
/** The line bench/request-units.ts counts (118 characters), so the figures compare. */
const CONTENT =
  'Running ten minutes late, the train is stuck outside the station. Order me the usual and I will be there by half past.';

export async function measureFlatCost(): Promise<FlatCostResult> {
  const db = await startDynamoDbLocal();
  const stub = await startManagementApiStub();
  const aws = { endpoint: db.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const probe = new DynamoDBClient(aws);
  const streams = new DynamoDBStreamsClient(aws);
  const seedClient = new DynamoDBClient(aws);
  try {
    await createTable(probe, TABLE_NAME);
    const { Table } = await probe.send(new DescribeTableCommand({ TableName: TABLE_NAME }));
    if (Table?.LatestStreamArn === undefined) throw new Error(`${TABLE_NAME} has no stream`);
    const handlers = await loadHandlers(db.endpoint, stub.url);
    const recorder = new CapacityRecorder(handlers.dynamo, probe, {
      keyNames: [TABLE.partitionKey.name, TABLE.sortKey.name],
      indexes: indexShapesOf(TABLE),
    });
    // The handlers' marshalling, without their 2 s request timeout (seeding keeps DynamoDB Local busy).
    const seeder = DynamoDBDocumentClient.from(seedClient, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const tail = streamTail(streams, Table.LatestStreamArn, LOCAL_REGION);
    const scales: ScaleFigures[] = [];
    try {
      const next = await openConversation(handlers, stub, tail, recorder);
      let seeded = 0;
      for (const otherUsers of SCALES) {
        const seedSeconds = await seed(handlers.seedOtherUsers, seeder, { from: seeded, to: otherUsers });
        seeded = otherUsers;
        // DynamoDB Local keeps ItemCount current (AWS updates it every few hours).
        const { Table: now } = await probe.send(new DescribeTableCommand({ TableName: TABLE_NAME }));
        if (now?.ItemCount === undefined) throw new Error(`${TABLE_NAME} reports no item count`);
        progress(`measuring with ${otherUsers.toLocaleString('en-US')} other users`);
        const counted = await next(`${otherUsers}`);
        const timed = [];
        for (let i = 0; i < TIMED_MESSAGES; i++) timed.push(await next(undefined));
        scales.push({
          otherUsers,
          items: now.ItemCount,
          seedSeconds,
          ...unitsOf(counted.calls),
          postToConnection: counted.posts,
          sendMedianMs: median(timed.map((t) => t.sendMs)),
          deliveryMedianMs: median(timed.map((t) => t.deliveryMs)),
        });
      }
    } finally {
      handlers.dynamo.destroy();
    }
    const first = scales[0];
    const unitsFlat = scales.every((s) => s.wru === first?.wru && s.rru === first.rru);
    return { scales, unitsFlat };
  } finally {
    probe.destroy();
    streams.destroy();
    seedClient.destroy();
    await stub.close();
    await db.stop();
  }
}

type Handlers = Awaited<ReturnType<typeof loadHandlers>>;

async function loadHandlers(endpoint: string, stubUrl: string) {
  // What Lambda's environment would hold; handler modules read it when first imported, below.
  Object.assign(process.env, {
    TABLE_NAME,
    // Named because the handlers require it; no message here has an attachment.
    ATTACHMENTS_BUCKET: 'parley-flat-cost-attachments',
    DYNAMODB_ENDPOINT: endpoint,
    WS_CALLBACK_URL: stubUrl,
    SNS_ENDPOINT: stubUrl,
    DELIVERY_FAILURE_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:parley-delivery-failures',
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    LOG_LEVEL: 'error',
    // Alice sends back to back; one admission is one UpdateItem whatever the limits (request-units.ts).
    SEND_RATE_PER_SECOND: '1000',
    SEND_BURST: '1000',
  });
  return {
    dynamo: (await import('../functions/shared/clients/dynamodb.ts')).dynamo,
    connect: (await import('../functions/routes/connect.ts')).handler,
    sendMessage: (await import('../functions/routes/send-message.ts')).handler,
    delivery: (await import('../functions/stream/delivery.ts')).handler,
    events: await import('../local/harness/ws-events.ts'),
    seedOtherUsers: (await import('./seed-table.ts')).seedOtherUsers,
  };
}

interface Exchange {
  readonly calls: RecordedCall[];
  readonly posts: number;
  readonly sendMs: number;
  readonly deliveryMs: number;
}

/**
 * Alice and Bob online, their conversation made by a first message (delivered, not counted); answers
 * what sends Alice's next message and delivers its stream record, counted under `phase` when given.
 */
async function openConversation(
  { connect, sendMessage, delivery, events }: Handlers,
  stub: Awaited<ReturnType<typeof startManagementApiStub>>,
  tail: StreamTail,
  recorder: CapacityRecorder,
): Promise<(phase: string | undefined) => Promise<Exchange>> {
  for (const user of [ALICE, BOB]) {
    await connect(events.connectEvent(user), events.lambdaContext);
    stub.open(user.connectionId);
  }
  let sent = 0;
  let conversationId: string | undefined;
  const exchange = async (phase: string | undefined): Promise<Exchange> => {
    const during = <T>(part: string, run: () => Promise<T>) =>
      phase === undefined ? run() : recorder.during(`${phase} ${part}`, run);
    const target = conversationId === undefined ? { to: BOB.userId } : { conversationId };
    const frame = { action: 'sendMessage', ...target, clientMessageId: `flat-${++sent}`, content: CONTENT };
    const mark = await tail.mark();
    const postsBefore = stub.posted.length;
    const sendStarted = performance.now();
    const response = await during('send', () =>
      sendMessage(events.messageEvent(frame, ALICE), events.lambdaContext),
    );
    const sendMs = performance.now() - sendStarted;
    const ack = JSON.parse(response.body ?? '{}') as Record<string, unknown>;
    if (ack.seq !== sent || ack.duplicate !== false) throw new Error(`unexpected answer ${response.body}`);
    conversationId = String(ack.conversationId);
    const record = await tail.find(mark, messageInsert(conversationId, sent));
    const deliveryStarted = performance.now();
    const result = await during('delivery', () => delivery({ Records: [record] }));
    const deliveryMs = performance.now() - deliveryStarted;
    if (result.batchItemFailures.length > 0) throw new Error('delivery reported a failure');
    const reachedBob = stub.posted.some(
      (post) =>
        post.connectionId === BOB.connectionId && post.frame.type === 'message' && post.frame.seq === sent,
    );
    if (!reachedBob) throw new Error(`message ${sent} was not posted to Bob’s connection`);
    const calls =
      phase === undefined
        ? []
        : [...recorder.callsOf(`${phase} send`), ...recorder.callsOf(`${phase} delivery`)];
    return { calls, posts: stub.posted.length - postsBefore, sendMs, deliveryMs };
  };
  await exchange(undefined);
  return exchange;
}

const messageInsert = (conversationId: string, seq: number) => (record: DynamoDBRecord) =>
  record.eventName === 'INSERT' &&
  record.dynamodb?.NewImage?.type?.S === 'message' &&
  record.dynamodb.NewImage.conversationId?.S === conversationId &&
  record.dynamodb.NewImage.seq?.N === String(seq);

function unitsOf(calls: readonly RecordedCall[]): Pick<ScaleFigures, 'wru' | 'rru' | 'requests'> {
  let wru = 0;
  let rru = 0;
  for (const call of calls) {
    if (call.billed.kind === 'read') rru += call.billed.read.units;
    else wru += call.billed.write.units;
  }
  return { wru, rru, requests: calls.length };
}

async function seed(
  seedOtherUsers: Handlers['seedOtherUsers'],
  client: DynamoDBDocumentClient,
  range: SeedRange,
): Promise<number> {
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  progress(
    `seeding other users ${range.from.toLocaleString('en-US')} to ${range.to.toLocaleString('en-US')}`,
  );
  await seedOtherUsers(client, TABLE_NAME, range, (written, total) =>
    progress(
      `  ${written.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} items, ${seconds()} s`,
    ),
  );
  return (performance.now() - started) / 1000;
}

const progress = (line: string) => process.stderr.write(`flat-cost: ${line}\n`);

/** Where each shard of the stream ends: an iterator for an open one, undefined for a closed one. */
type StreamMark = ReadonlyMap<string, string | undefined>;

interface StreamTail {
  mark(): Promise<StreamMark>;
  /** The first record after `mark` that `match` accepts; a shard opened since is read from its start. */
  find(mark: StreamMark, match: (record: DynamoDBRecord) => boolean): Promise<DynamoDBRecord>;
}

/** How long a committed write's record may take to appear in the stream. */
const RECORD_WAIT_MS = 10_000;

/**
 * The stream holds every seeded write: reading it from the start (bench/stream-records.ts) would page
 * through hundreds of thousands of records per message, so each is read from where the shards ended
 * just before its send.
 */
function streamTail(streams: DynamoDBStreamsClient, streamArn: string, region: string): StreamTail {
  const shards = async () => {
    const found = [];
    let ExclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId }),
      );
      found.push(...(StreamDescription?.Shards ?? []));
      ExclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (ExclusiveStartShardId !== undefined);
    return found;
  };
  const iterator = async (ShardId: string | undefined, ShardIteratorType: ShardIteratorType) =>
    (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId, ShardIteratorType })))
      .ShardIterator;
  return {
    async mark() {
      const mark = new Map<string, string | undefined>();
      for (const shard of await shards()) {
        const open = shard.SequenceNumberRange?.EndingSequenceNumber === undefined;
        mark.set(String(shard.ShardId), open ? await iterator(shard.ShardId, 'LATEST') : undefined);
      }
      return mark;
    },
    async find(mark, match) {
      const positions = new Map(mark);
      const deadline = Date.now() + RECORD_WAIT_MS;
      while (Date.now() < deadline) {
        for (const shard of await shards()) {
          const id = String(shard.ShardId);
          let position = positions.has(id) ? positions.get(id) : await iterator(id, 'TRIM_HORIZON');
          // Up to the first empty page: what follows has not been written yet.
          while (position !== undefined) {
            const page = await streams.send(new GetRecordsCommand({ ShardIterator: position }));
            const found = (page.Records ?? []).map((r) => toLambdaRecord(r, streamArn, region)).find(match);
            if (found !== undefined) return found;
            const empty = (page.Records ?? []).length === 0;
            position = page.NextShardIterator;
            if (empty) break;
          }
          positions.set(id, position);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no matching record in the table stream within ${RECORD_WAIT_MS} ms`);
    },
  };
}

const units = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1));
const count = (value: number): string => value.toLocaleString('en-US');

export function printFlatCost(result: FlatCostResult): void {
  const row = (figure: string, cell: (s: ScaleFigures) => string) => [figure, ...result.scales.map(cell)];
  const table = textTable(
    ['', ...result.scales.map((s) => `${count(s.otherUsers)} other users`)],
    [
      row('items in the table', (s) => count(s.items)),
      row('seeding, s (added to the previous)', (s) => s.seedSeconds.toFixed(1)),
      row('WRU (AWS)', (s) => units(s.wru)),
      row('RRU (AWS)', (s) => units(s.rru)),
      row('DynamoDB requests', (s) => String(s.requests)),
      row('PostToConnection', (s) => String(s.postToConnection)),
      row(`sendMessage, median ms of ${TIMED_MESSAGES}`, (s) => s.sendMedianMs.toFixed(1)),
      row(`delivery, median ms of ${TIMED_MESSAGES}`, (s) => s.deliveryMedianMs.toFixed(1)),
    ],
    ['left', ...result.scales.map(() => 'right' as const)],
  );
  const first = result.scales[0];
  const sameCalls = result.scales.every(
    (s) => s.requests === first?.requests && s.postToConnection === first.postToConnection,
  );
  const verdict = result.unitsFlat
    ? `FLAT: ${units(first?.wru ?? 0)} WRU and ${units(first?.rru ?? 0)} RRU at every scale`
    : `NOT FLAT: WRU ${result.scales.map((s) => units(s.wru)).join(', ')}; RRU ${result.scales.map((s) => units(s.rru)).join(', ')}`;
  process.stdout.write(
    `${heading('Flat cost at scale: a 1:1 message with other users in the table')}` +
      'Alice → Bob in their existing direct conversation, Bob online on one connection, as in the request units\n' +
      'above, with other users in the table, each connected on one device, in two direct conversations with\n' +
      'one message each (bench/seed-table.ts). sendMessage + delivery counted once per scale with AWS’s\n' +
      `billing rules; ${TIMED_MESSAGES} more messages timed unrecorded, handlers in this process against DynamoDB Local.\n\n` +
      `${table}\n\n` +
      `  ${verdict}; ${sameCalls ? 'the same' : 'NOT the same'} requests and PostToConnection calls\n`,
  );
}

if (import.meta.main) {
  const { out } = runCommandLine(
    {
      name: 'flat-cost',
      command: 'node bench/flat-cost.ts',
      usage: '[--out FILE.json]',
      details: `Counts and times a 1:1 message with ${SCALES.map(count).join(', ')} other users in the table.

  --out FILE.json  also write the figures there (npm run bench reads them)
`,
      options: { out: { type: 'string' } },
    },
    (values) => ({ out: values.out }),
  );
  const result = await measureFlatCost();
  printFlatCost(result);
  if (out !== undefined) await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
}

/**
 * Beside the usual design: AWS's WebSocket chat sample (bench/scan-baseline-handler.ts) measured per
 * message on DynamoDB Local at 10, 1,000 and 10,000 connected users, next to Parley's figures for one
 * 1:1 message. Its sendmessage Scans the connections table, so one message costs more the more people
 * are connected: the reason architecture.md allows no Scan. AWS bills a Scan page like a Query page
 * (bench/billing.ts rule R2: the sizes of the items scanned summed, 1 RRU per started 4 KB), half for
 * the default eventually consistent read (R3). `node bench/scan-baseline.ts` prints the table against
 * Parley's current 8 WRU / 3.5 RRU.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  BatchWriteItemCommand,
  type ConsumedCapacity,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '../local/dynamodb-local.ts';
import { billRead, billWrite, itemSize } from './billing.ts';
import { type ManagementApiStub, startManagementApiStub } from './management-api-stub.ts';
import { type SampleEvent, type SampleHandlers, sampleHandlers } from './scan-baseline-handler.ts';
import { median } from './stats.ts';
import { heading, textTable } from './text-table.ts';

export const CONNECTED_USERS = [10, 1_000, 10_000] as const;
export const MESSAGES_PER_SIZE = 5;
/** The SDK's Node agent keeps 50 sockets per host: bigger chunks would only queue behind them. */
export const POST_CONCURRENCY = 50;
/** Parley's figures for one new 1:1 message as `npm run bench -- units` last printed them. */
export const PARLEY_FIGURES = { wru: 8, rru: 3.5 } as const;
/** The budget's scenario: the recipient is online on one device. */
const PARLEY_POSTS_PER_MESSAGE = 1;
const SEED_REQUESTS_IN_FLIGHT = 8;
const BATCH_WRITE_LIMIT = 25;
const DATA = JSON.stringify({
  message: 'Running ten minutes late, order me the usual and I will be there soon.',
});

export interface ParleyFigures {
  readonly rru: number;
  readonly wru: number;
  /** Parley's handler time for one message, when the caller has measured it. */
  readonly handlerMs?: number;
}

export interface ScanBaselineOptions {
  /** A running DynamoDB Local; without one, one is started and stopped. */
  readonly endpoint?: string;
  readonly parley: ParleyFigures;
}

/** Per message, averaged over MESSAGES_PER_SIZE messages (they do not differ). */
export interface ScanBaselineRow {
  readonly connectedUsers: number;
  /** Read request units as AWS bills them. */
  readonly rruPerMessage: number;
  /** Write request units as AWS bills them (410 clean-ups only: the sample stores no message). */
  readonly wruPerMessage: number;
  /** What DynamoDB Local's ConsumedCapacity reported. */
  readonly localRcuPerMessage: number;
  readonly scanPages: number;
  readonly dynamodbRequests: number;
  readonly postToConnection: number;
  readonly handlerMedianMs: number;
  /** The Scan pages' share of the handler time. */
  readonly scanMedianMs: number;
  readonly rruRatioToParley: number;
  readonly postsRatioToParley: number;
}

export interface ScanBaselineResult {
  readonly users: readonly ScanBaselineRow[];
  readonly parley: ParleyFigures;
  /** One connection item as AWS sizes it. */
  readonly itemBytes: number;
  /** The sample's $connect and $disconnect, once each. */
  readonly connectWru: number;
  readonly disconnectWru: number;
}

interface Tally {
  requests: number;
  scanPages: number;
  rru: number;
  wru: number;
  localRcu: number;
  scanMs: number;
  posts: number;
}

const emptyTally = (): Tally => ({
  requests: 0,
  scanPages: 0,
  rru: 0,
  wru: 0,
  localRcu: 0,
  scanMs: 0,
  posts: 0,
});

/** The handler's calls, counted by middleware so the sample's code stays as it would be deployed. */
function meter(dynamo: DynamoDBDocumentClient, managementApi: ApiGatewayManagementApiClient) {
  let tally = emptyTally();
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const input: Record<string, unknown> = { ...(args.input as object), ReturnConsumedCapacity: 'TOTAL' };
      const started = performance.now();
      const result = await next({ ...args, input });
      const output = result.output as {
        Items?: Record<string, unknown>[];
        ConsumedCapacity?: ConsumedCapacity;
      };
      tally.requests++;
      if (context.commandName === 'ScanCommand') {
        tally.scanMs += performance.now() - started;
        tally.scanPages++;
        tally.localRcu += output.ConsumedCapacity?.CapacityUnits ?? 0;
        // At this step lib-dynamodb has unmarshalled the page: marshal it back to size it.
        const itemBytes = (output.Items ?? []).map((item) => itemSize(marshall(item)));
        tally.rru += billRead({ kind: 'query', itemBytes, consistent: input.ConsistentRead === true }).units;
      } else {
        // Put and Delete of an item that is only its key: the key is the whole item, before or after.
        const item = marshall((input.Item ?? input.Key) as Record<string, unknown>);
        const put = context.commandName === 'PutCommand';
        tally.wru += billWrite({
          items: [put ? { before: undefined, after: item } : { before: item, after: undefined }],
          transactional: false,
          succeeded: true,
          indexes: [],
          tableKeys: ['connectionId'],
        }).units;
      }
      return result;
    },
    { step: 'initialize', name: 'scanBaselineMeter' },
  );
  managementApi.middlewareStack.add(
    (next) => async (args) => {
      tally.posts++;
      return next(args);
    },
    { step: 'initialize', name: 'scanBaselinePosts' },
  );
  return {
    take(): Tally {
      const taken = tally;
      tally = emptyTally();
      return taken;
    },
  };
}

/** API Gateway's connection ids are 16 characters of base64, e.g. `L0SM9cOFvHcCIhw=`. */
const connectionId = (): string => randomBytes(11).toString('base64');

const event = (id: string, body?: string): SampleEvent => ({ requestContext: { connectionId: id }, body });

/** BatchWriteItem, 25 items a request, several in flight, until nothing is left unprocessed. */
async function seed(db: DynamoDBClient, tableName: string, ids: readonly string[]): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let start = 0; start < ids.length; start += BATCH_WRITE_LIMIT) {
    batches.push(
      ids
        .slice(start, start + BATCH_WRITE_LIMIT)
        .map((id) => ({ PutRequest: { Item: { connectionId: { S: id } } } })),
    );
  }
  const write = async (requests: WriteRequest[]): Promise<void> => {
    const { UnprocessedItems } = await db.send(
      new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }),
    );
    const left = UnprocessedItems?.[tableName] ?? [];
    if (left.length === 0) return;
    await sleep(50); // unprocessed items mean the table is busy: back off before the retry
    await write(left);
  };
  const worker = async () => {
    for (let batch = batches.pop(); batch !== undefined; batch = batches.pop()) await write(batch);
  };
  await Promise.all(Array.from({ length: SEED_REQUESTS_IN_FLIGHT }, worker));
}

async function measureSize(
  connectedUsers: number,
  sender: string,
  handlers: SampleHandlers,
  taken: () => Tally,
  stub: ManagementApiStub,
  parley: ParleyFigures,
): Promise<ScanBaselineRow> {
  const sum = emptyTally();
  const handlerMs: number[] = [];
  const scanMs: number[] = [];
  for (let message = 0; message < MESSAGES_PER_SIZE; message++) {
    const postedBefore = stub.posted.length;
    const started = performance.now();
    await handlers.sendMessage(event(sender, JSON.stringify({ action: 'sendmessage', data: DATA })));
    handlerMs.push(performance.now() - started);
    const tally = taken();
    if (stub.posted.length - postedBefore !== connectedUsers) {
      throw new Error(`${connectedUsers} connected, ${stub.posted.length - postedBefore} posts delivered`);
    }
    scanMs.push(tally.scanMs);
    for (const key of Object.keys(sum) as (keyof Tally)[]) sum[key] += tally[key];
  }
  const per = (total: number) => total / MESSAGES_PER_SIZE;
  return {
    connectedUsers,
    rruPerMessage: per(sum.rru),
    wruPerMessage: per(sum.wru),
    localRcuPerMessage: per(sum.localRcu),
    scanPages: per(sum.scanPages),
    dynamodbRequests: per(sum.requests),
    postToConnection: per(sum.posts),
    handlerMedianMs: median(handlerMs),
    scanMedianMs: median(scanMs),
    rruRatioToParley: per(sum.rru) / parley.rru,
    postsRatioToParley: per(sum.posts) / PARLEY_POSTS_PER_MESSAGE,
  };
}

export async function measureScanBaseline(options: ScanBaselineOptions): Promise<ScanBaselineResult> {
  const local = options.endpoint === undefined ? await startDynamoDbLocal() : undefined;
  const endpoint = options.endpoint ?? local?.endpoint;
  const stub = await startManagementApiStub();
  const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const db = new DynamoDBClient({ ...aws, endpoint });
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ ...aws, endpoint }));
  const managementApi = new ApiGatewayManagementApiClient({ ...aws, endpoint: stub.url });
  const tableName = `scan-baseline-${Date.now()}`;
  try {
    await db.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const { take } = meter(dynamo, managementApi);
    const handlers = sampleHandlers({ dynamo, managementApi, tableName, postConcurrency: POST_CONCURRENCY });
    // The sender connects through the sample's own $connect; everyone else is seeded in bulk.
    const sender = connectionId();
    stub.open(sender);
    await handlers.connect(event(sender));
    const connectWru = take().wru;
    const users: ScanBaselineRow[] = [];
    let connected = 1;
    for (const target of CONNECTED_USERS) {
      const ids = Array.from({ length: target - connected }, connectionId);
      for (const id of ids) stub.open(id);
      await seed(db, tableName, ids);
      connected = target;
      users.push(await measureSize(target, sender, handlers, take, stub, options.parley));
    }
    await handlers.disconnect(event(sender));
    const disconnectWru = take().wru;
    const itemBytes = itemSize({ connectionId: { S: sender } });
    return { users, parley: options.parley, itemBytes, connectWru, disconnectWru };
  } finally {
    await db.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    db.destroy();
    dynamo.destroy();
    managementApi.destroy();
    await stub.close();
    await local?.stop();
  }
}

const units = (value: number): string => String(Math.round(value * 100) / 100);
const count = (value: number): string => value.toLocaleString('en-US');

export function printScanBaseline(result: ScanBaselineResult): void {
  const { parley } = result;
  const table = textTable(
    [
      'connected users',
      'RRU/msg (AWS)',
      'RCU/msg (Local)',
      'WRU/msg',
      'Scan pages',
      'DynamoDB calls',
      'PostToConnection',
      'handler p50 ms',
      'Scan p50 ms',
      'RRU ÷ Parley',
      'posts ÷ Parley',
    ],
    result.users.map((row) => [
      count(row.connectedUsers),
      units(row.rruPerMessage),
      units(row.localRcuPerMessage),
      units(row.wruPerMessage),
      units(row.scanPages),
      units(row.dynamodbRequests),
      count(row.postToConnection),
      row.handlerMedianMs.toFixed(1),
      row.scanMedianMs.toFixed(1),
      `${row.rruRatioToParley.toFixed(2)}×`,
      `${count(row.postsRatioToParley)}×`,
    ]),
    ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const perHalfUnit = Math.floor(4096 / result.itemBytes);
  const perPage = Math.floor((1024 * 1024) / result.itemBytes);
  process.stdout.write(
    `${heading('Beside the usual design: Scan the connections on every message')}` +
      "AWS's WebSocket chat sample (simple-websockets-chat-app) rebuilt from its description in\n" +
      'bench/scan-baseline-handler.ts: a table of connectionIds; sendmessage Scans all of it (paginateScan,\n' +
      `eventually consistent, 1 MB a page) and posts to every connection, Promise.all over chunks of ${POST_CONCURRENCY}\n` +
      `(the SDK's sockets per host), deleting any that answers 410. Per message, over ${MESSAGES_PER_SIZE} messages per size,\n` +
      'on DynamoDB Local with every connection open at the @connections stub (in this process).\n\n' +
      `${table}\n\n` +
      `  RRU (AWS): billRead per Scan page as rule R2 (item sizes summed, per started 4 KB) and R3 (half);\n` +
      `  a connection item is ${result.itemBytes} bytes: about ${perHalfUnit} connections fill each 4 KB, 0.5 RRU per message.\n` +
      `  RCU (Local): DynamoDB Local's ConsumedCapacity for the same calls.\n` +
      `  Parley, one 1:1 message: ${parley.wru} WRU, ${parley.rru} RRU, ${PARLEY_POSTS_PER_MESSAGE} PostToConnection` +
      `${parley.handlerMs === undefined ? '' : `, handler ${parley.handlerMs.toFixed(1)} ms`}; no Scan.\n` +
      `  Scan pages: one 1 MB page holds about ${count(perPage)} items of ${result.itemBytes} bytes.\n` +
      '  Posts per message: the sample sends every message to everyone connected, the sender too: one\n' +
      '  PostToConnection, each billed by API Gateway as a message, per connected user. Parley posts only to\n' +
      "  the recipient's connections.\n" +
      '  Handler p50: sendmessage end to end on this machine; the posts dominate, and the work of the\n' +
      '  @connections stub, running in this process, is part of it.\n' +
      '  WRU/msg counts only 410 clean-ups: the sample stores no message, so no history, no sync after a\n' +
      `  reconnect, no idempotent retry, no push to the offline. Its $connect costs ${result.connectWru} WRU, its $disconnect ${result.disconnectWru} WRU.\n`,
  );
}

if (import.meta.main) printScanBaseline(await measureScanBaseline({ parley: PARLEY_FIGURES }));

/**
 * Fault injection in the whole local stack (`node local/start.ts`, real handlers, DynamoDB Local), each
 * fault class switched on with `PUT /_local/faults` at the moment it should hit and driven by real
 * WebSocket clients: what the handlers and the stream do under it, and that the guarantees of
 * architecture.md still hold (the ack arrives or `internal` is answered with nothing stored, every
 * committed message arrives at least once, a 410 removes the connection item, push at most once).
 *
 * Each test uses its own users, and before switching a fault on waits until their earlier records are
 * delivered (the stack runs at LOG_LEVEL=info, so the handlers log each record they deliver) and the
 * stream pipeline is idle (`GET /_local/stream`), so that a count of faults lands on the calls the
 * test makes, not on the tail of an earlier test (a retried record holds up its lane, as in the event
 * source mapping).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CONNECTION_PREFIX,
  conversationPartition,
  DEVICE_PREFIX,
  keys,
  MESSAGE_PREFIX,
  userPartition,
} from '../../functions/adapters/keys.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { pipelineIdle } from './support/pipeline-idle.ts';
import { localToken } from './support/tokens.ts';

const POLL = { timeout: 30_000, interval: 50 };
const ABNORMAL_CLOSURE = 1006;
type Frame = Record<string, unknown>;
let stack: LocalStackProcess;
let table: DynamoDBDocumentClient;
const open: Client[] = [];

beforeAll(async () => {
  stack = await startLocalStackProcess({
    PARLEY_FAULTS: 'lose=0%',
    PARLEY_FAULT_SEED: '7',
    LOG_LEVEL: 'info',
  });
  table = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamoDbEndpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }),
  );
});

afterEach(async () => {
  await fetch(`${stack.httpUrl}/_local/faults`, { method: 'DELETE' });
  for (const client of open.splice(0)) client.socket.terminate();
});

afterAll(async () => {
  table?.destroy();
  await stack?.stop();
});

async function join(userId: string, deviceId = `${userId}-phone`): Promise<Client> {
  const client = await connect(`${stack.url}/?token=${await localToken(userId)}&deviceId=${deviceId}`);
  open.push(client);
  return client;
}

async function setFaults(plan: unknown): Promise<Frame> {
  const response = await fetch(`${stack.httpUrl}/_local/faults`, {
    method: 'PUT',
    body: typeof plan === 'string' ? plan : JSON.stringify(plan),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Frame;
}

const faults = async () => (await (await fetch(`${stack.httpUrl}/_local/faults`)).json()) as Frame;

let counter = 0;
const send = (from: Client, fields: Frame) => {
  counter += 1;
  const clientMessageId = `m-${counter}`;
  from.send({ action: 'sendMessage', clientMessageId, content: `message ${clientMessageId}`, ...fields });
  return clientMessageId;
};
const acked = async (from: Client, clientMessageId: string) =>
  (await answers(from, [clientMessageId]))[0] as Frame;
/** The `ack` or `error` answering each of `clientMessageIds`, in that order (one reader: frames are not lost). */
async function answers(from: Client, clientMessageIds: string[]): Promise<Frame[]> {
  const found = new Map<string, Frame>();
  while (found.size < clientMessageIds.length) {
    const frame = await from.until(
      (f) => (f.type === 'ack' || f.type === 'error') && clientMessageIds.includes(String(f.clientMessageId)),
    );
    found.set(String(frame.clientMessageId), frame);
  }
  return clientMessageIds.map((id) => found.get(id) as Frame);
}

/**
 * `a` online, their direct conversation created by a first message while `b` was offline, then `b`
 * online and answering (seq 2: both wrote, so presence and receipts pass, protocol.md 1.2), and `a`
 * told that `b` is online. Nothing of theirs is left to deliver after that.
 */
async function pair(
  prefix: string,
): Promise<{ a: Client; b: Client; aId: string; bId: string; conversationId: string }> {
  const aId = `${prefix}-a`;
  const bId = `${prefix}-b`;
  const a = await join(aId);
  await handlerLogged('presence delivered', `"userId":"${aId}"`, '"change":"online"');
  const first = await acked(a, send(a, { to: bId }));
  expect(first).toMatchObject({ type: 'ack', seq: 1 });
  await handlerLogged('conversation delivered', `"conversationId":"${String(first.conversationId)}"`);
  await handlerLogged('message delivered', `"messageId":"${String(first.messageId)}"`);
  const b = await join(bId);
  await handlerLogged('presence delivered', `"userId":"${bId}"`, '"change":"online"');
  const answer = await acked(b, send(b, { to: aId }));
  expect(answer).toMatchObject({ type: 'ack', seq: 2 });
  await a.until((frame) => frame.type === 'presence' && frame.userId === bId && frame.status === 'online');
  await pipelineIdle(stack.httpUrl);
  return { a, b, aId, bId, conversationId: String(first.conversationId) };
}

/** Waits for the handlers' JSON log line (the stack runs at LOG_LEVEL=info) with this message and fields. */
async function handlerLogged(message: string, ...fields: string[]): Promise<void> {
  const found = () =>
    stack
      .output()
      .split('\n')
      .some(
        (line) => line.includes(`"message":"${message}"`) && fields.every((field) => line.includes(field)),
      );
  await expect.poll(found, POLL).toBe(true);
}

async function itemsUnder(partition: string, prefix: string): Promise<Frame[]> {
  const { Items = [] } = await table.send(
    new QueryCommand({
      TableName: stack.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)',
      ExpressionAttributeValues: { ':pk': partition, ':sk': prefix },
    }),
  );
  return Items;
}
const connectionItems = (userId: string) => itemsUnder(userPartition(userId), CONNECTION_PREFIX);
const pushesFor = async (userId: string) =>
  ((await (await fetch(`${stack.httpUrl}/_local/pushes`)).json()) as Frame[]).filter(
    (push) => push.userId === userId,
  );
/** Output (handler JSON lines and the stack's own) written after `from` characters of it. */
const handlerLogSince = (from: number) => stack.output().slice(from);

/** Frames until every one of `messageIds` has come in a `message` frame; how often each came. */
async function collect(client: Client, messageIds: string[]): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const order: number[] = [];
  while (!messageIds.every((id) => seen.has(id))) {
    const frame = await client.until((f) => f.type === 'message');
    const id = String(frame.messageId);
    if (!seen.has(id)) order.push(Number(frame.seq));
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  // De-duplicated by messageId, the messages came in seq order.
  expect(order).toEqual([...order].sort((x, y) => x - y));
  return seen;
}

describe('the fault plan', () => {
  it('starts from PARLEY_FAULTS and PARLEY_FAULT_SEED, and npm start says so', async () => {
    expect(await faults()).toMatchObject({ spec: 'lose=0%', seed: 7, faults: { lose: { rate: 0 } } });
    expect(stack.output()).toMatch(/Faults {9}ON: lose=0% \(seed 7; --fault-seed 7 repeats the draws\)/);
  });

  it('is replaced by PUT (JSON or the --faults form), refused with a reason when wrong, cleared by DELETE', async () => {
    expect(
      await setFaults({ faults: { post: { count: 2, answers: [429] }, lose: { rate: 0.5 } }, seed: 11 }),
    ).toMatchObject({ active: true, seed: 11, spec: 'post=2:429,lose=50%', remaining: { post: 2 } });
    expect(await setFaults('sns=3:EndpointDisabled')).toMatchObject({
      spec: 'sns=3:EndpointDisabled',
      seed: 11,
    });
    const refused = await fetch(`${stack.httpUrl}/_local/faults`, { method: 'PUT', body: 'post=3:503' });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      message: 'post: unknown answer "503" (post answers: 500, 429, 410)',
    });
    expect((await faults()).spec).toBe('sns=3:EndpointDisabled');
    const cleared = await fetch(`${stack.httpUrl}/_local/faults`, { method: 'DELETE' });
    expect(await cleared.json()).toMatchObject({ active: false, spec: '', faults: {} });
  });
});

describe('the delivery handler dying in the middle of a batch', () => {
  it('crash: every message still arrives, at least once, and once after de-duplication by messageId', async () => {
    const { a, b, bId } = await pair('crash');
    await setFaults('delivery-crash=1');
    const ids = [send(a, { to: bId }), send(a, { to: bId }), send(a, { to: bId }), send(a, { to: bId })];
    const acks = await answers(a, ids);
    expect(acks.map((ack) => ack.type)).toEqual(['ack', 'ack', 'ack', 'ack']);
    const seen = await collect(
      b,
      acks.map((ack) => String(ack.messageId)),
    );
    expect(seen.size).toBe(4);
    // The crashed invocation had handled the first half of its batch, which the retry handled again.
    expect([...seen.values()].some((times) => times > 1)).toBe(true);
    expect(await faults()).toMatchObject({ injected: { 'delivery-crash': 1 } });
    expect(stack.output()).toMatch(/WARN delivery: batch of \d+ on \S+ failed: Runtime\.ExitError/);
  });

  it('timeout: every message still arrives, at least once', async () => {
    const { a, b, bId } = await pair('timeout');
    await setFaults('delivery-timeout=1');
    const ids = [send(a, { to: bId }), send(a, { to: bId }), send(a, { to: bId })];
    const acks = await answers(a, ids);
    await collect(
      b,
      acks.map((ack) => String(ack.messageId)),
    );
    expect(await faults()).toMatchObject({ injected: { 'delivery-timeout': 1 } });
    expect(stack.output()).toMatch(/WARN delivery: batch of \d+ on \S+ failed: Sandbox\.Timedout/);
  });
});

describe('throttled DynamoDB', () => {
  it('two throttled calls are retried by the SDK: the send commits once and the ack arrives', async () => {
    const { a, b, bId, conversationId } = await pair('throttled');
    await setFaults({ dynamodb: { count: 2, answers: ['ProvisionedThroughputExceededException'] } });
    const ack = await acked(a, send(a, { to: bId }));
    expect(ack).toMatchObject({ type: 'ack', seq: 3, duplicate: false });
    expect(await faults()).toMatchObject({ injected: { dynamodb: 2 }, remaining: { dynamodb: 0 } });
    expect(await b.until((frame) => frame.type === 'message')).toMatchObject({ messageId: ack.messageId });
    expect(await itemsUnder(conversationPartition(conversationId), MESSAGE_PREFIX)).toHaveLength(3);
  });
});

describe('PostToConnection failing', () => {
  it.each([
    500, 429,
  ])('%i on every SDK attempt: delivery retries the record and the message arrives', async (status) => {
    const { a, b, bId } = await pair(`post-${status}`);
    const logFrom = stack.output().length;
    await setFaults(`post=3:${status}`);
    const ack = await acked(a, send(a, { to: bId }));
    expect(await b.until((frame) => frame.type === 'message')).toMatchObject({ messageId: ack.messageId });
    expect(await a.until((frame) => frame.type === 'delivered')).toMatchObject({ userId: bId, seq: 3 });
    expect(await faults()).toMatchObject({ injected: { post: 3 } });
    // The SDK's three attempts all failed, so delivery itself reported the record and it was retried.
    const log = handlerLogSince(logFrom);
    expect(log).toContain('"message":"post to connection failed"');
    expect(log).toContain('"message":"delivery failed, the record will be retried"');
  });

  it('410 cuts the socket, the connection item goes, and the message waits for sync', async () => {
    const { a, b, bId, conversationId } = await pair('post-410');
    expect(await connectionItems(bId)).toHaveLength(1);
    await setFaults('post=1:410');
    const ack = await acked(a, send(a, { to: bId }));
    expect((await b.closed).code).toBe(ABNORMAL_CLOSURE);
    await expect.poll(() => connectionItems(bId), POLL).toEqual([]);
    // No loss: the message is in the table and the next session's sync has it.
    const again = await join(bId);
    again.send({ action: 'sync', conversationId, afterSeq: 2 });
    const page = await again.until((frame) => frame.type === 'messages');
    expect(page.messages).toEqual([expect.objectContaining({ messageId: ack.messageId, seq: 3 })]);
  });
});

describe('SNS Publish failing', () => {
  async function offlineWithDevice(prefix: string, token: string) {
    const { a, b, bId } = await pair(prefix);
    b.send({ action: 'registerDevice', platform: 'fcm', token });
    expect(await b.until((frame) => frame.type === 'ack')).toEqual({ type: 'ack', action: 'registerDevice' });
    b.socket.close();
    await b.closed;
    await expect.poll(() => connectionItems(bId), POLL).toEqual([]);
    await a.until((frame) => frame.type === 'presence' && frame.userId === bId && frame.status === 'offline');
    await pipelineIdle(stack.httpUrl);
    return { a, bId };
  }

  it('InternalError on every SDK attempt: the record is retried and the push is recorded once', async () => {
    const { a, bId } = await offlineWithDevice('sns-500', 'fcm-token-sns-500');
    await setFaults('sns=3:InternalError');
    const ack = await acked(a, send(a, { to: bId }));
    await expect.poll(() => pushesFor(bId), POLL).not.toEqual([]);
    expect(await pushesFor(bId)).toEqual([
      expect.objectContaining({
        token: 'fcm-token-sns-500',
        data: expect.objectContaining({ messageId: ack.messageId }),
      }),
    ]);
    expect(await faults()).toMatchObject({ injected: { sns: 3 } });
  });

  it('EndpointDisabled: the device is removed and nothing is pushed', async () => {
    const { a, bId } = await offlineWithDevice('sns-disabled', 'fcm-token-sns-disabled');
    expect(await itemsUnder(userPartition(bId), DEVICE_PREFIX)).toHaveLength(1);
    await setFaults('sns=1:EndpointDisabled');
    await acked(a, send(a, { to: bId }));
    await expect.poll(() => itemsUnder(userPartition(bId), DEVICE_PREFIX), POLL).toEqual([]);
    const endpoints = async () =>
      ((await (await fetch(`${stack.httpUrl}/_local/push-endpoints`)).json()) as Frame[]).filter(
        (endpoint) => endpoint.token === 'fcm-token-sns-disabled',
      );
    await expect.poll(endpoints, POLL).toEqual([]);
    expect(await pushesFor(bId)).toEqual([]);
    expect(await faults()).toMatchObject({ injected: { sns: 1 } });
  });
});

describe('a connection lost without $disconnect', () => {
  it('keeps its item until the next delivery gets 410 for it and removes it; presence goes offline', async () => {
    const { a, bId } = await pair('lost');
    const response = await fetch(`${stack.httpUrl}/_local/users/${bId}/lose`, { method: 'POST' });
    const { lost } = (await response.json()) as { lost: string[] };
    expect(lost).toHaveLength(1);
    const [connectionId = ''] = lost;
    // No $disconnect ran: the item is still there, as after a lost network in AWS.
    expect((await connectionItems(bId)).map((item) => item.connectionId)).toEqual([connectionId]);
    // A connection younger than API Gateway's $connect window answers 410 while still connecting, and
    // delivery keeps it (functions/delivery/fanout.ts): age it, as one lost after a while would be.
    await table.send(
      new UpdateCommand({
        TableName: stack.tableName,
        Key: keys.connection(bId, connectionId),
        UpdateExpression: 'SET connectedAt = :then',
        ExpressionAttributeValues: { ':then': new Date(Date.now() - 60 * 60_000).toISOString() },
      }),
    );
    expect(await connectionItems(bId)).toHaveLength(1);
    await acked(a, send(a, { to: bId }));
    await expect.poll(() => connectionItems(bId), POLL).toEqual([]);
    expect(await a.until((frame) => frame.type === 'presence' && frame.userId === bId)).toMatchObject({
      status: 'offline',
    });
  });
});

describe('DynamoDB failing every call', () => {
  it('the sender gets internal, nothing is stored, and the same clientMessageId commits once it recovers', async () => {
    const { a, aId, bId, conversationId } = await pair('ddb-down');
    await setFaults('dynamodb=100%');
    const clientMessageId = send(a, { to: bId });
    expect(await acked(a, clientMessageId)).toMatchObject({
      type: 'error',
      code: 'internal',
      clientMessageId,
    });
    await fetch(`${stack.httpUrl}/_local/faults`, { method: 'DELETE' });
    const receipt = await table.send(
      new GetCommand({ TableName: stack.tableName, Key: keys.sendReceipt(aId, clientMessageId) }),
    );
    expect(receipt.Item).toBeUndefined();
    expect(await itemsUnder(conversationPartition(conversationId), MESSAGE_PREFIX)).toHaveLength(2);

    a.send({ action: 'sendMessage', clientMessageId, to: bId, content: 'once more' });
    expect(await acked(a, clientMessageId)).toMatchObject({ type: 'ack', seq: 3, duplicate: false });
    expect(await itemsUnder(conversationPartition(conversationId), MESSAGE_PREFIX)).toHaveLength(3);
  });
});

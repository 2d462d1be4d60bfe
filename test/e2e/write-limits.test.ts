/**
 * The limits on every write (protocol.md 1.2) through the local stack, configured with `npm start`
 * flags as a developer would: requestUpload at 600 a minute after 3 at once (so that a wait is 100 ms),
 * createConversation at 1 a minute after 2, and an upload quota of 25 MiB a day. Real WebSocket
 * clients; the table is read directly to show what was stored and counted.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { localToken } from './support/tokens.ts';

const MiB = 1024 * 1024;
/** As functions/adapters/upload-store.ts counts days (not imported: it needs a handler's environment). */
const utcDay = (at: Date) => at.toISOString().slice(0, 10);
const nextUtcMidnight = (at: Date) => Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1);
type Frame = Record<string, unknown>;

let stack: LocalStackProcess;
let table: DynamoDBDocumentClient;
const opened: Client[] = [];

beforeAll(async () => {
  stack = await startLocalStackProcess({}, [
    '--upload-rate',
    '600',
    '--upload-burst',
    '3',
    '--conversation-rate',
    '1',
    '--conversation-burst',
    '2',
    '--upload-mib-per-day',
    '25',
  ]);
  table = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamoDbEndpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }),
  );
});

afterAll(async () => {
  for (const client of opened) client.socket.close();
  table?.destroy();
  await stack?.stop();
});

async function join(userId: string): Promise<Client> {
  const client = await connect(`${stack.url}/?token=${await localToken(userId)}`);
  opened.push(client);
  return client;
}

/** Waits until `client` has an answer to every clientRequestId in `ids` (`match` picks them). */
async function answersFor(
  client: Client,
  ids: readonly string[],
  idOf: (frame: Frame) => unknown,
): Promise<Map<string, Frame>> {
  const answers = new Map<string, Frame>();
  const wanted = new Set(ids);
  await client.until((frame) => {
    const id = idOf(frame);
    if (typeof id === 'string' && wanted.has(id)) answers.set(id, frame);
    return answers.size === wanted.size;
  });
  return answers;
}

const uploadAnswerId = (frame: Frame) =>
  frame.type === 'upload' || (frame.type === 'error' && frame.action === 'requestUpload')
    ? frame.clientRequestId
    : undefined;

/** The bytes `userId`'s count holds for today (UTC). */
async function countedToday(userId: string): Promise<number> {
  const { Item } = await table.send(
    new GetCommand({
      TableName: stack.tableName,
      Key: keys.uploadQuota(userId, utcDay(new Date())),
      ConsistentRead: true,
    }),
  );
  return Number(Item?.bytes ?? 0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('limits on every write', () => {
  it('refuses the excess of 10 requestUploads at once, and answers each retried after retryAfterMs, counting every upload once', async () => {
    const ivy = await join('ivy');
    const ids = Array.from({ length: 10 }, (_, i) => `pic-${i}`);
    const frameFor = (id: string) => ({
      action: 'requestUpload',
      clientRequestId: id,
      contentType: 'image/png',
      size: MiB,
    });

    for (const id of ids) ivy.send(frameFor(id));
    let answers = await answersFor(ivy, ids, uploadAnswerId);

    const refused = [...answers.values()].filter((frame) => frame.type === 'error');
    // A burst of 3: however slow the machine, 10 at once are more than 3 + 600 a minute lets through.
    expect(refused.length).toBeGreaterThan(0);
    for (const frame of refused) {
      expect(frame).toMatchObject({
        code: 'rate_limited',
        action: 'requestUpload',
        retryAfterMs: expect.any(Number),
      });
      expect(Number(frame.retryAfterMs)).toBeGreaterThan(0);
    }

    // A client waits retryAfterMs and asks again, until it has its upload.
    const uploads = new Map([...answers].filter(([, frame]) => frame.type === 'upload'));
    let pending = ids.filter((id) => !uploads.has(id));
    while (pending.length > 0) {
      await sleep(Math.max(...pending.map((id) => Number(answers.get(id)?.retryAfterMs ?? 0))));
      for (const id of pending) ivy.send(frameFor(id));
      answers = await answersFor(ivy, pending, uploadAnswerId);
      for (const [id, frame] of answers) {
        if (frame.type === 'upload') uploads.set(id, frame);
        else expect(frame).toMatchObject({ code: 'rate_limited' });
      }
      pending = pending.filter((id) => !uploads.has(id));
    }

    // Refused requests counted nothing: the day holds each upload's MiB once.
    expect(new Set([...uploads.values()].map((frame) => frame.uploadId)).size).toBe(10);
    expect(await countedToday('ivy')).toBe(10 * MiB);
  });

  it('refuses the upload that would pass the day’s 25 MiB until midnight UTC, and still answers a retry of a counted one', async () => {
    const jay = await join('jay');
    // Four asks in a row can pass the rate's burst of 3 on a fast machine: a refusal by the rate
    // (a wait of at most its 100 ms interval, where the quota's lasts until midnight) is waited out.
    const ask = async (clientRequestId: string, size: number): Promise<Frame> => {
      for (;;) {
        jay.send({ action: 'requestUpload', clientRequestId, contentType: 'video/mp4', size });
        const answer = await jay.until((frame) => uploadAnswerId(frame) === clientRequestId);
        const wait = Number(answer.retryAfterMs);
        if (answer.type !== 'error' || !(wait <= 100)) return answer;
        await sleep(wait);
      }
    };

    const first = await ask('film-1', 20 * MiB);
    expect(first).toMatchObject({ type: 'upload' });
    const before = Date.now();
    const refusal = await ask('film-2', 6 * MiB);
    const after = Date.now();
    expect(refusal).toMatchObject({ type: 'error', code: 'rate_limited', action: 'requestUpload' });
    // Until the next UTC midnight, as the server's clock saw it during the request.
    const retryAfterMs = Number(refusal.retryAfterMs);
    expect(before + retryAfterMs).toBeGreaterThanOrEqual(
      nextUtcMidnight(new Date(before)) - (after - before),
    );
    expect(before + retryAfterMs).toBeLessThanOrEqual(nextUtcMidnight(new Date(after)) + (after - before));

    expect(await ask('film-3', 5 * MiB)).toMatchObject({ type: 'upload' });
    expect(await ask('film-1', 20 * MiB)).toMatchObject({ type: 'upload', uploadId: first.uploadId });
    expect(await countedToday('jay')).toBe(25 * MiB);
  });

  it('refuses a third createConversation at once and creates nothing for it', async () => {
    const kai = await join('kai');
    const ids = ['trip-1', 'trip-2', 'trip-3'];
    for (const id of ids)
      kai.send({ action: 'createConversation', clientRequestId: id, members: ['lou'], title: id });
    const answers = await answersFor(kai, ids, (frame) =>
      frame.type === 'conversation'
        ? frame.title
        : frame.type === 'error'
          ? frame.clientRequestId
          : undefined,
    );

    const refused = [...answers.values()].filter((frame) => frame.type === 'error');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ code: 'rate_limited', action: 'createConversation' });
    expect(Number(refused[0]?.retryAfterMs)).toBeGreaterThan(0);
    expect(Number(refused[0]?.retryAfterMs)).toBeLessThanOrEqual(60_000);

    // kai's list holds the two groups the burst let through, and nothing of the third.
    kai.send({ action: 'sync' });
    const list = await kai.until((frame) => frame.type === 'conversations');
    const titles = (list.conversations as { title: string }[]).map((entry) => entry.title).sort();
    expect(titles).toEqual(ids.filter((id) => answers.get(id)?.type === 'conversation').sort());
  });
});

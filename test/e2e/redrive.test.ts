/**
 * What exhausts delivery's retries, dealt with through `npm run admin -- failures | redrive --local URL`
 * against the whole local stack with real WebSocket clients:
 * - delivery gives up on a message for good (its conversation item is gone while that one delivery
 *   runs): the queue holds its identity, `failures` lists it, `sync` returns the message all along, a
 *   dry run changes nothing, a redrive while the cause lasts fails and keeps the entry, and once the
 *   cause is fixed a redrive brings the message to the recipient's socket and empties the queue; a
 *   second redrive finds nothing;
 * - delivery crashes on a batch until the stream poller gives it up (as the event source mapping does):
 *   the queue holds a stream pointer, and a redrive reads the records back from the stream.
 * The faults come from a wrapper around the stack's own delivery handler, never from timing.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knownDirectConversations } from '../../functions/adapters/known-conversations.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local.ts';
import type { LocalHandlers } from '../../local/handlers.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { setLocalLogSink } from '../../local/log.ts';
import type { LocalStack } from '../../local/stack.ts';
import { startInProcessStack, stopInProcessStack } from './support/in-process-stack.ts';
import { pipelineIdle } from './support/pipeline-idle.ts';
import { localToken } from './support/tokens.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** The admin tool's last line against a local stack whose stream has nothing in flight. */
const IDLE_LINE = 'stream: idle (every record written so far is delivered or in this queue)';

/** While set, delivery of the message with this clientMessageId finds its conversation item gone. */
let conversationGoneFor: string | undefined;
/** While set, every delivery batch holding the message with this clientMessageId crashes. */
let crashOn: string | undefined;
/** Resolved after each delivery that met a missing conversation, with the conversation put back. */
let onConversationGone: (() => void) | undefined;

const clientMessageIds = (event: DynamoDBStreamEvent) =>
  event.Records.map((record) => record.dynamodb?.NewImage?.clientMessageId?.S);

function wrap(handlers: LocalHandlers): LocalHandlers {
  return {
    ...handlers,
    delivery: async (event, context) => {
      if (crashOn !== undefined && clientMessageIds(event).includes(crashOn)) {
        throw new Error('injected crash');
      }
      const gone = conversationGoneFor;
      const record = event.Records.find((r) => r.dynamodb?.NewImage?.clientMessageId?.S === gone);
      const conversationId = record?.dynamodb?.NewImage?.conversationId?.S;
      if (gone === undefined || conversationId === undefined) return handlers.delivery(event, context);
      // The conversation item is taken away for this one delivery, then put back as it was; the delivery
      // runs as a container that has not read it yet would (a warm one remembers direct conversations).
      knownDirectConversations.clear();
      const key = { PK: `CONV#${conversationId}`, SK: 'META' };
      const { Item } = await table.send(
        new GetCommand({ TableName: stack.tableName, Key: key, ConsistentRead: true }),
      );
      await table.send(new DeleteCommand({ TableName: stack.tableName, Key: key }));
      try {
        return await handlers.delivery(event, context);
      } finally {
        await table.send(new PutCommand({ TableName: stack.tableName, Item }));
        onConversationGone?.();
      }
    },
  };
}

let stack: LocalStack;
let table: DynamoDBDocumentClient;
let httpUrl: string;

beforeAll(async () => {
  process.env.LOG_LEVEL = 'fatal';
  setLocalLogSink(() => undefined);
  stack = await startInProcessStack(wrap);
  httpUrl = `http://127.0.0.1:${stack.port}`;
  table = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamoDbEndpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }),
  );
});

afterAll(async () => {
  table?.destroy();
  await stopInProcessStack(stack);
});

function admin(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['admin/admin.ts', ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, stderr });
    });
  });
}

async function queued(): Promise<Record<string, unknown>[]> {
  return (await fetch(`${httpUrl}/_local/delivery-failures`)).json() as Promise<Record<string, unknown>[]>;
}

async function send(from: Client, clientMessageId: string): Promise<Record<string, unknown>> {
  from.send({ action: 'sendMessage', to: 'bob', clientMessageId, content: `text of ${clientMessageId}` });
  return from.until((frame) => frame.type === 'ack' && frame.clientMessageId === clientMessageId);
}

async function syncedIds(client: Client, conversationId: string): Promise<unknown[]> {
  client.send({ action: 'sync', conversationId, afterSeq: 0 });
  const frame = await client.until((f) => f.type === 'messages' && f.conversationId === conversationId);
  return (frame.messages as { messageId: string }[]).map((message) => message.messageId);
}

describe('redrive of what delivery gave up', () => {
  it('lists a message delivery gave up on, keeps it while redelivery fails, and delivers it once fixed', async () => {
    // GIVEN alice and bob talking, and then a message whose delivery finds its conversation gone
    const alice = await connect(`${stack.url}/?token=${await localToken('alice')}`);
    const bob = await connect(`${stack.url}/?token=${await localToken('bob')}`);
    const hello = await send(alice, 'hello-1');
    await bob.until((frame) => frame.type === 'message' && frame.messageId === hello.messageId);
    conversationGoneFor = 'lost-1';
    let given = new Promise<void>((resolve) => {
      onConversationGone = resolve;
    });
    const lost = await send(alice, 'lost-1');
    await given;
    const { conversationId, messageId, seq } = lost;

    // THEN the queue holds its identity, `failures` lists it, and sync returns the message
    expect(await queued()).toEqual([
      expect.objectContaining({ kind: 'message', class: 'permanent', conversationId, seq, messageId }),
    ]);
    // (once the stream is idle, which the listing's last line says)
    await pipelineIdle(httpUrl);
    const listed = await admin('failures', '--local', httpUrl);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toMatch(
      new RegExp(
        `^\\S+ {2}\\S+ {2}message ${conversationId} seq ${seq} messageId ${messageId}: failed for good: PermanentFailure, recorded \\S+\\n1 entry in the on-failure queue\\n${IDLE_LINE.replace(/[()]/g, '\\$&')}\\n$`,
      ),
    );
    const json = JSON.parse((await admin('failures', '--local', httpUrl, '--json')).stdout);
    expect(json).toMatchObject([{ kind: 'message', entry: { kind: 'delivery', delivery: { messageId } } }]);
    expect(await syncedIds(bob, String(conversationId))).toEqual([hello.messageId, messageId]);

    // WHEN a dry run, then a redrive while the cause lasts
    const dry = await admin('redrive', '--local', httpUrl, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^would redeliver {2}\S+ {2}message .*\(1 record from the table\)$/m);
    given = new Promise<void>((resolve) => {
      onConversationGone = resolve;
    });
    const failing = await admin('redrive', '--local', httpUrl);
    await given;
    // THEN the entry stays, once (the failed redelivery is not recorded again)
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(
      /^FAILED, kept {2}\S+ {2}message .*delivery failed again on 1 of 1 record/m,
    );
    expect(failing.stderr).toMatch(/not redelivered: they stay in the queue/);
    expect(await queued()).toEqual([expect.objectContaining({ messageId })]);

    // WHEN the cause is gone and the operator redrives
    conversationGoneFor = undefined;
    const redriven = await admin('redrive', '--local', httpUrl);

    // THEN bob's socket gets the message, the queue is empty, and a second redrive does nothing
    expect(redriven).toMatchObject({ code: 0, stderr: '' });
    expect(redriven.stdout).toMatch(
      /^redelivered {2}\S+ {2}message .*\(1 record from the table\)\nredrive: 1 redelivered and removed\nstream: (idle|busy)\b.*\n$/,
    );
    expect(
      await bob.until((frame) => frame.type === 'message' && frame.messageId === messageId),
    ).toMatchObject({
      conversationId,
      seq,
      senderId: 'alice',
      content: 'text of lost-1',
    });
    expect(await queued()).toEqual([]);
    await pipelineIdle(httpUrl);
    expect(await admin('redrive', '--local', httpUrl)).toEqual({
      code: 0,
      stdout: `the on-failure queue is empty: nothing to redrive\n${IDLE_LINE}\n`,
      stderr: '',
    });
    expect(await syncedIds(bob, String(conversationId))).toEqual([hello.messageId, messageId]);

    for (const client of [alice, bob]) client.socket.close();
    await Promise.all([alice.closed, bob.closed]);
  });

  it('tries an entry again once a recipient’s connection is past `$connect`, so the redrive empties the queue', async () => {
    // GIVEN a message delivery gave up on (its conversation gone while it ran), the cause fixed
    const alice = await connect(`${stack.url}/?token=${await localToken('alice')}`);
    const bob = await connect(`${stack.url}/?token=${await localToken('bob')}`);
    conversationGoneFor = 'young-1';
    const given = new Promise<void>((resolve) => {
      onConversationGone = resolve;
    });
    const lost = await send(alice, 'young-1');
    await given;
    conversationGoneFor = undefined;
    // AND bob with a connection stored a moment ago whose socket is already gone: it answers 410 inside
    // the `$connect` window, as a socket lost right after connecting does (what the chaos runs met)
    const now = new Date().toISOString();
    const young = { PK: 'USER#bob', SK: 'CONN#youngLost=', type: 'connection', connectionId: 'youngLost=' };
    await table.send(
      new PutCommand({
        TableName: stack.tableName,
        Item: { ...young, userId: 'bob', deviceId: 'bob-tablet', connectedAt: now, storedAt: now },
      }),
    );

    // WHEN the operator redrives
    const redriven = await admin('redrive', '--local', httpUrl);

    // THEN the first try fails on that connection, the second (after the window) removes it and
    // succeeds: bob's socket has the message and the queue is empty
    expect(redriven).toMatchObject({ code: 0, stderr: '' });
    expect(redriven.stdout).toMatch(
      /^redelivered {2}\S+ {2}message .*: redelivered on the second try, 6 s after the first failed \(delivery failed again on 1 of 1 record\(s\)/m,
    );
    expect(
      await bob.until((frame) => frame.type === 'message' && frame.messageId === lost.messageId),
    ).toMatchObject({ seq: lost.seq });
    expect(await queued()).toEqual([]);
    const { Item } = await table.send(
      new GetCommand({
        TableName: stack.tableName,
        Key: { PK: young.PK, SK: young.SK },
        ConsistentRead: true,
      }),
    );
    expect(Item).toBeUndefined();
    for (const client of [alice, bob]) client.socket.close();
    await Promise.all([alice.closed, bob.closed]);
  });

  it('redelivers a batch the stream poller gave up from the stream records its pointer names', async () => {
    // GIVEN delivery crashing on every batch that holds one message, until the poller gives it up
    const alice = await connect(`${stack.url}/?token=${await localToken('alice')}`);
    const bob = await connect(`${stack.url}/?token=${await localToken('bob')}`);
    crashOn = 'crash-1';
    const crashed = await send(alice, 'crash-1');
    // Waits for the poller's own retries to run out (about 13 s of its back-off): the pipeline is idle
    // once it gave the batch up.
    await pipelineIdle(httpUrl);
    const pointer = (await queued()).find((entry) => entry.DDBStreamBatchInfo !== undefined);
    expect(pointer).toBeDefined();
    crashOn = undefined;

    // THEN `failures` lists a stream batch
    const listed = await admin('failures', '--local', httpUrl);
    expect(listed.stdout).toMatch(
      /^\S+ {2}\S+ {2}stream batch on \S+, sequence numbers \d+–\d+ \(1 record\(s\)/m,
    );

    // WHEN the operator redrives
    const redriven = await admin('redrive', '--local', httpUrl);

    // THEN the record is read back from the stream and reaches bob; the queue is empty
    expect(redriven).toMatchObject({ code: 0, stderr: '' });
    expect(redriven.stdout).toMatch(/^redelivered {2}\S+ {2}stream batch .*\(1 record from the stream\)$/m);
    expect(
      await bob.until((frame) => frame.type === 'message' && frame.messageId === crashed.messageId),
    ).toMatchObject({
      content: 'text of crash-1',
    });
    expect(await queued()).toEqual([]);

    for (const client of [alice, bob]) client.socket.close();
    await Promise.all([alice.closed, bob.closed]);
  });
});

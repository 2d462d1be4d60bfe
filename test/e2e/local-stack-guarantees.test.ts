/**
 * Guarantees that need state the routes of Core I cannot create, checked end to end through the local
 * stack: items are put straight into its DynamoDB Local (a deactivated user, a connection that died
 * without `$disconnect`), then real clients observe what the real handlers do with them.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect, refusal } from '../../local/harness/ws-client.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const POLL = { timeout: 20_000, interval: 50 };
let stack: LocalStackProcess;
let table: DynamoDBDocumentClient;

const token = (userId: string) =>
  execFileSync(process.execPath, ['local/token.ts', userId], { cwd: ROOT }).toString().trim();
const join2 = (userId: string, deviceId: string): Promise<Client> =>
  connect(`${stack.url}/?token=${token(userId)}&deviceId=${deviceId}`);
const put = (item: Record<string, unknown>) =>
  table.send(new PutCommand({ TableName: stack.tableName, Item: item }));
const deliveryBatches = () => stack.output().match(/\[local\] delivery batch of/g)?.length ?? 0;
const pushesFor = async (userId: string) =>
  ((await (await fetch(`${stack.httpUrl}/_local/pushes`)).json()) as { userId: string }[]).filter(
    (push) => push.userId === userId,
  );

beforeAll(async () => {
  stack = await startLocalStackProcess();
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
  await stack?.stop();
});

describe('a deactivated user', () => {
  it('is refused at the upgrade with 403 and cannot be sent direct messages', async () => {
    await put({ ...keys.userState('dora'), type: 'userState', userId: 'dora', deactivated: true });

    expect(await refusal(`${stack.url}/?token=${token('dora')}`)).toBe(403);

    const erin = await join2('erin', 'erin-phone');
    erin.send({ action: 'sendMessage', clientMessageId: 'to-dora', to: 'dora', content: 'hi' });
    expect(await erin.until((f) => f.type === 'error')).toMatchObject({
      code: 'forbidden',
      action: 'sendMessage',
      clientMessageId: 'to-dora',
    });
    erin.socket.close();
  });
});

describe('delivery to a connection that died without $disconnect', () => {
  it('gets 410 for it, deletes exactly that connection item, and still delivers to the live one', async () => {
    // GIVEN frank online on his phone, and a stale connection item of his that API Gateway no longer knows
    const frank = await join2('frank', 'frank-phone');
    const stale = keys.connection('frank', 'c3RhbGVjb25uZWN0aW9u');
    await put({ ...stale, type: 'connection', connectionId: 'c3RhbGVjb25uZWN0aW9u', userId: 'frank' });
    const gina = await join2('gina', 'gina-phone');

    // WHEN gina writes to him
    gina.send({ action: 'sendMessage', clientMessageId: 'to-frank', to: 'frank', content: 'still there?' });

    // THEN his live connection gets the message and the stale item is gone
    expect(await frank.until((f) => f.type === 'message')).toMatchObject({ content: 'still there?' });
    await expect
      .poll(
        async () => (await table.send(new GetCommand({ TableName: stack.tableName, Key: stale }))).Item,
        POLL,
      )
      .toBeUndefined();
    frank.socket.close();
    gina.socket.close();
  });
});

describe('unregisterDevice', () => {
  it('stops pushes to that device', async () => {
    // GIVEN hugo's phone registered for push, then unregistered
    const hugo = await join2('hugo', 'hugo-phone');
    hugo.send({ action: 'registerDevice', platform: 'apns_sandbox', token: 'a'.repeat(64) });
    expect(await hugo.until((f) => f.type === 'ack')).toEqual({ type: 'ack', action: 'registerDevice' });
    hugo.send({ action: 'unregisterDevice' });
    expect(await hugo.until((f) => f.type === 'ack')).toEqual({ type: 'ack', action: 'unregisterDevice' });
    hugo.socket.close();
    await hugo.closed;

    // WHEN ivy writes to him while he is offline, and the delivery handler has finished that record
    // (the local stack logs every delivery batch once the handler returned)
    const ivy = await join2('ivy', 'ivy-phone');
    const batchesBefore = deliveryBatches();
    ivy.send({ action: 'sendMessage', clientMessageId: 'to-hugo', to: 'hugo', content: 'ping me back' });
    await ivy.until((f) => f.type === 'ack');
    await expect.poll(deliveryBatches, POLL).toBeGreaterThan(batchesBefore);

    // THEN no push went to hugo
    expect(await pushesFor('hugo')).toEqual([]);
    ivy.socket.close();
  });
});

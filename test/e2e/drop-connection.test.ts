/**
 * The local stack's `/_local/` drop endpoints, with the real handlers: the client's socket is cut with no
 * close frame (the client sees 1006, as on a lost network), the gateway forgets the connection at once
 * (`@connections` answers 410) and `$disconnect` removes its connection item from the table.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_PREFIX, userPartition } from '../../functions/adapters/keys.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { localToken } from './support/tokens.ts';

const POLL = { timeout: 20_000, interval: 50 };
/** What a WebSocket reports when its connection ended without a close frame. */
const ABNORMAL_CLOSURE = 1006;
let stack: LocalStackProcess;
let table: DynamoDBDocumentClient;

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

async function join(userId: string, deviceId: string): Promise<Client> {
  return connect(`${stack.url}/?token=${await localToken(userId)}&deviceId=${deviceId}`);
}

/** The ids of the user's connection items: `$connect` writes them, `$disconnect` deletes them. */
async function storedConnections(userId: string): Promise<string[]> {
  const { Items = [] } = await table.send(
    new QueryCommand({
      TableName: stack.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)',
      ExpressionAttributeValues: { ':pk': userPartition(userId), ':sk': CONNECTION_PREFIX },
    }),
  );
  return Items.map((item) => String(item.connectionId)).sort();
}

const post = (path: string) => fetch(`${stack.httpUrl}/_local/${path}`, { method: 'POST' });
const managementStatus = async (connectionId: string) =>
  (await fetch(`${stack.httpUrl}/@connections/${encodeURIComponent(connectionId)}`)).status;

describe('POST /_local/connections/{connectionId}/drop', () => {
  it('cuts the socket without a close frame, even with frames in flight, and runs $disconnect', async () => {
    const dana = await join('dana', 'dana-phone');
    const [connectionId = ''] = await storedConnections('dana');
    expect(await managementStatus(connectionId)).toBe(200);

    for (let i = 0; i < 20; i++) dana.send({ action: 'ping' });
    const response = await post(`connections/${encodeURIComponent(connectionId)}/drop`);

    expect(response.status).toBe(204);
    expect((await dana.closed).code).toBe(ABNORMAL_CLOSURE);
    expect(await managementStatus(connectionId)).toBe(410);
    await expect
      .poll(() => stack.output(), POLL)
      .toContain(`disconnected ${connectionId} dana/dana-phone (${ABNORMAL_CLOSURE})`);
    await expect.poll(() => storedConnections('dana'), POLL).toEqual([]);
    // The stack goes on serving: the same user connects again and is answered.
    const again = await join('dana', 'dana-phone');
    again.send({ action: 'ping' });
    expect(await again.until((frame) => frame.type === 'pong')).toEqual({ type: 'pong' });
    again.socket.close();
    await again.closed;
  });

  it('answers 404 with a message for an unknown or already dropped connection', async () => {
    const unknown = await post('connections/nope%3D/drop');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: 'no open connection "nope="' });

    const erin = await join('erin', 'erin-phone');
    const [connectionId = ''] = await storedConnections('erin');
    expect((await post(`connections/${encodeURIComponent(connectionId)}/drop`)).status).toBe(204);
    await erin.closed;
    expect((await post(`connections/${encodeURIComponent(connectionId)}/drop`)).status).toBe(404);
  });
});

describe('POST /_local/users/{userId}/drop', () => {
  it('drops every connection of that user and no one else’s, and lists them', async () => {
    const phone = await join('ula', 'ula-phone');
    const tablet = await join('ula', 'ula-tablet');
    const other = await join('vic', 'vic-phone');
    const ulaConnections = await storedConnections('ula');
    expect(ulaConnections).toHaveLength(2);

    const response = await post('users/ula/drop');

    expect(response.status).toBe(200);
    const { dropped } = (await response.json()) as { dropped: string[] };
    expect([...dropped].sort()).toEqual(ulaConnections);
    expect((await phone.closed).code).toBe(ABNORMAL_CLOSURE);
    expect((await tablet.closed).code).toBe(ABNORMAL_CLOSURE);
    await expect.poll(() => storedConnections('ula'), POLL).toEqual([]);
    other.send({ action: 'ping' });
    expect(await other.until((frame) => frame.type === 'pong')).toEqual({ type: 'pong' });
    other.socket.close();
    await other.closed;
  });

  it('answers 200 with an empty list for a user without connections', async () => {
    const response = await post('users/nobody/drop');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ dropped: [] });
  });
});

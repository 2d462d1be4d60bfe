/**
 * The server API's handler against DynamoDB Local (integration.md, "The server API"), called with the
 * events API Gateway's HTTP API gives it once IAM has checked the signature (the signature itself is
 * the gateway's, or the local stack's: test/unit/local/sigv4-verifier.test.ts). Each operation this
 * version serves answers the contract's status and shape; an Idempotency-Key makes a retry answer what
 * the first request answered, also when the retries race; a key reused for another request is 409;
 * the backend goes through the users' own rules (membership, blocks); bad input is 400 and changes
 * nothing; a path it does not serve is 404.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
import { handler as sendFrame } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { handler } from '../../functions/server-api/handler.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { handler as delivery } from '../../functions/stream/delivery.ts';
import { serverApiEvent } from '../../local/harness/server-api-events.ts';
import { connectEvent, lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { connectionInsert, conversationInsert, streamEvent } from '../support/stream-events.ts';

const managementApi = mockClient(ApiGatewayManagementApiClient);
managementApi.on(PostToConnectionCommand).resolves({});
afterAll(() => managementApi.restore());

type Json = Record<string, unknown>;

async function call(
  method: string,
  path: string,
  options: Parameters<typeof serverApiEvent>[2] = {},
): Promise<{ status: number; body: Json }> {
  const result = await handler(serverApiEvent(method, path, options), lambdaContext);
  return { status: result.statusCode ?? 0, body: JSON.parse(result.body ?? '{}') as Json };
}

const users = <Names extends string[]>(...names: Names): { [K in keyof Names]: string } => {
  const suffix = randomUUID().slice(0, 8);
  return names.map((name) => `${name}-${suffix}`) as { [K in keyof Names]: string };
};

const item = async (key: { PK: string; SK: string }): Promise<Json | undefined> =>
  (await dynamo.send(new GetCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }))).Item;

describe('the server API', () => {
  it('creates a direct conversation accepted for both, and finds it again', async () => {
    const [ada, ben] = users('ada', 'ben');
    const first = await call('POST', '/v1/conversations', {
      body: { members: [ben, ada] },
      key: randomUUID(),
    });

    const id = directConversationId(ada, ben);
    expect(first).toEqual({
      status: 201,
      body: {
        conversationId: id,
        kind: 'direct',
        members: [ada, ben].sort(),
        title: null,
        createdAt: expect.any(String),
      },
    });
    for (const userId of [ada, ben]) {
      expect(await item(keys.member(id, userId))).toMatchObject({ sent: true, peerSent: true });
    }
    const again = await call('POST', '/v1/conversations', { body: { members: [ada, ben] } });
    expect(again).toEqual({ status: 200, body: first.body });
  });

  it('introduces the two users of a direct conversation it made: presence flows at once', async () => {
    const [lia, max] = users('lia', 'max');
    for (const userId of [lia, max]) {
      await connect(connectEvent({ userId, connectionId: `${userId}-phone` }), lambdaContext);
    }
    await delivery(streamEvent(connectionInsert(lia, `${lia}-phone`), connectionInsert(max, `${max}-phone`)));
    const created = await call('POST', '/v1/conversations', { body: { members: [lia, max] } });
    const id = String(created.body.conversationId);
    managementApi.resetHistory();

    // the stream brings the conversation's creation to delivery
    const record = conversationInsert({
      ...(await item(keys.conversation(id))),
      originConnectionId: undefined,
    });
    expect(await delivery(streamEvent(record))).toEqual({ batchItemFailures: [] });

    const posted = managementApi.commandCalls(PostToConnectionCommand).map(({ args }) => ({
      to: args[0].input.ConnectionId,
      frame: JSON.parse(new TextDecoder().decode(args[0].input.Data as Uint8Array)) as Json,
    }));
    expect(posted).toContainEqual({
      to: `${lia}-phone`,
      frame: { type: 'presence', userId: max, status: 'online' },
    });
    expect(posted).toContainEqual({
      to: `${max}-phone`,
      frame: { type: 'presence', userId: lia, status: 'online' },
    });
  });

  it('answers every retry of one Idempotency-Key with the first answer, also when they race, and 409 for another body', async () => {
    const [cy, di, ed] = users('cy', 'di', 'ed');
    const key = randomUUID();
    const body = { members: [cy, di, ed], title: 'Hike' };

    const answers = await Promise.all(
      Array.from({ length: 5 }, () => call('POST', '/v1/conversations', { body, key })),
    );

    const settled = answers.filter((answer) => answer.status !== 429);
    expect(settled.length).toBeGreaterThan(0);
    for (const answer of settled) expect(answer).toEqual(settled[0]);
    expect(settled[0]).toMatchObject({ status: 201, body: { kind: 'group', title: 'Hike' } });
    // any that met the first still running were told to retry, and a retry gets the same answer
    expect(await call('POST', '/v1/conversations', { body, key })).toEqual(settled[0]);
    expect(await call('POST', '/v1/conversations', { body: { ...body, title: 'Other' }, key })).toMatchObject(
      {
        status: 409,
        body: { code: 'conflict' },
      },
    );
  });

  it('sends as a member: 201 with seq and version, the same answer for a retried key, duplicate for a repeated clientMessageId', async () => {
    const [fay, gus] = users('fay', 'gus');
    const created = await call('POST', '/v1/conversations', { body: { members: [fay, gus] } });
    const id = String(created.body.conversationId);
    const message = { senderId: fay, clientMessageId: 'm-1', content: 'You matched!' };
    const key = randomUUID();

    const sent = await call('POST', `/v1/conversations/${id}/messages`, { body: message, key });
    expect(sent).toEqual({
      status: 201,
      body: {
        conversationId: id,
        messageId: expect.any(String),
        seq: 1,
        version: expect.any(Number),
        createdAt: expect.any(String),
        duplicate: false,
      },
    });
    expect(await call('POST', `/v1/conversations/${id}/messages`, { body: message, key })).toEqual(sent);
    expect(await call('POST', `/v1/conversations/${id}/messages`, { body: message })).toMatchObject({
      status: 201,
      body: { seq: 1, duplicate: true, messageId: sent.body.messageId },
    });

    const history = await call('GET', `/v1/conversations/${id}/messages`, { query: { afterSeq: '0' } });
    expect(history).toMatchObject({
      status: 200,
      body: {
        conversationId: id,
        hasMore: false,
        messages: [{ seq: 1, senderId: fay, content: 'You matched!' }],
      },
    });
    const changes = await call('GET', `/v1/conversations/${id}/messages`, { query: { afterVersion: '0' } });
    expect(changes).toMatchObject({
      status: 200,
      body: { messages: [{ seq: 1 }], version: sent.body.version },
    });
  });

  it('holds the users’ own rules: a non-member cannot send, a block refuses the blocked user', async () => {
    const [hal, ivy, jon] = users('hal', 'ivy', 'jon');
    const id = String(
      (await call('POST', '/v1/conversations', { body: { members: [hal, ivy] } })).body.conversationId,
    );
    const send = (senderId: string, clientMessageId: string) =>
      call('POST', `/v1/conversations/${id}/messages`, {
        body: { senderId, clientMessageId, content: 'hi' },
      });

    expect(await send(jon, 'x-1')).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await call('PUT', `/v1/users/${ivy}/blocks/${hal}`, { key: randomUUID() })).toEqual({
      status: 200,
      body: { userId: ivy, otherId: hal, blocked: true },
    });
    expect(await send(hal, 'x-2')).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await call('DELETE', `/v1/users/${ivy}/blocks/${hal}`)).toMatchObject({
      status: 200,
      body: { blocked: false },
    });
    expect(await send(hal, 'x-3')).toMatchObject({ status: 201 });
  });

  it('posts system notices no block hides, unique per conversation, that no client can send or address', async () => {
    const [nia, ole] = users('nia', 'ole');
    const id = String(
      (await call('POST', '/v1/conversations', { body: { members: [nia, ole] } })).body.conversationId,
    );
    await call('PUT', `/v1/users/${nia}/blocks/${ole}`);
    const notice = { senderId: 'system', clientMessageId: 'welcome', content: 'Be kind.' };

    expect(await call('POST', `/v1/conversations/${id}/messages`, { body: notice })).toMatchObject({
      status: 201,
      body: { seq: 1, duplicate: false },
    });
    // the same clientMessageId in another conversation is another notice
    const other = String(
      (await call('POST', '/v1/conversations', { body: { members: users('pia', 'quin') } })).body
        .conversationId,
    );
    expect(await call('POST', `/v1/conversations/${other}/messages`, { body: notice })).toMatchObject({
      status: 201,
      body: { conversationId: other, seq: 1, duplicate: false },
    });
    // nia blocks ole, and still reads the notice whole
    const page = await sync(
      messageEvent({ action: 'sync', conversationId: id }, { userId: nia }),
      lambdaContext,
    );
    expect(JSON.parse(page.body ?? '{}')).toMatchObject({
      messages: [{ seq: 1, senderId: 'system', content: 'Be kind.' }],
    });
    expect(JSON.parse(page.body ?? '{}').messages[0]).not.toHaveProperty('hidden');
    // no client may address `system`, and the backend may not put it in a conversation
    const toSystem = await sendFrame(
      messageEvent(
        { action: 'sendMessage', to: 'system', clientMessageId: 'c-1', content: 'hi' },
        { userId: nia },
      ),
      lambdaContext,
    );
    expect(JSON.parse(toSystem.body ?? '{}')).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(await call('POST', '/v1/conversations', { body: { members: [nia, 'system'] } })).toMatchObject({
      status: 400,
    });
  });

  it('deactivates and reactivates a user as the operators’ tools do', async () => {
    const [kai] = users('kai');
    expect(await call('POST', `/v1/users/${kai}/deactivate`)).toMatchObject({
      status: 200,
      body: { operation: 'deactivate', userId: kai, closed: 0 },
    });
    expect(await item(keys.userState(kai))).toMatchObject({ deactivated: true });
    expect(await call('POST', `/v1/users/${kai}/reactivate`)).toMatchObject({ status: 200 });
    expect(await call('POST', `/v1/users/${kai}/revoke`)).toMatchObject({
      status: 200,
      body: { operation: 'revokeSessions' },
    });
  });

  it('lists the report queue', async () => {
    expect(await call('GET', '/v1/reports', { query: { status: 'open', limit: '5' } })).toMatchObject({
      status: 200,
      body: { reports: expect.any(Array), more: expect.any(Boolean) },
    });
    expect(await call('GET', '/v1/reports', { query: { status: 'closed' } })).toMatchObject({ status: 400 });
    expect(await call('POST', '/v1/reports/not-a-report/resolve')).toMatchObject({ status: 400 });
  });

  it.each([
    ['a body that is not JSON', 'POST', '/v1/conversations', { body: '{members' }, 400, 'bad_request'],
    ['one member', 'POST', '/v1/conversations', { body: { members: ['solo'] } }, 400, 'bad_request'],
    [
      'three members and no title',
      'POST',
      '/v1/conversations',
      { body: { members: ['a', 'b', 'c'] } },
      400,
      'bad_request',
    ],
    [
      'a member id with a space',
      'POST',
      '/v1/conversations',
      { body: { members: ['a b', 'c'] } },
      400,
      'bad_request',
    ],
    [
      '101 members',
      'POST',
      '/v1/conversations',
      { body: { members: Array.from({ length: 101 }, (_, i) => `u${i}`), title: 'x' } },
      400,
      'too_large',
    ],
    [
      'a malformed Idempotency-Key',
      'POST',
      '/v1/conversations',
      { body: { members: ['a', 'b'] }, key: 'has space' },
      400,
      'bad_request',
    ],
    [
      'a conversation that does not exist',
      'GET',
      '/v1/conversations/dm_nothing/messages',
      {},
      404,
      'not_found',
    ],
    ['a bad limit', 'GET', '/v1/conversations/dm_x/messages', { query: { limit: '0' } }, 400, 'bad_request'],
    [
      'both afterSeq and afterVersion',
      'GET',
      '/v1/conversations/dm_x/messages',
      { query: { afterSeq: '1', afterVersion: '1' } },
      400,
      'bad_request',
    ],
    ['a path it does not have', 'GET', '/v1/nothing', {}, 404, 'not_found'],
    ['an operation this version does not serve', 'DELETE', '/v1/users/someone', {}, 404, 'not_found'],
    [
      'a body over 64 KiB',
      'POST',
      '/v1/conversations',
      { body: { members: ['a', 'b'], pad: 'x'.repeat(70_000) } },
      400,
      'too_large',
    ],
  ] as const)('answers %s with %i %s', async (_, method, path, options, status, code) => {
    expect(await call(method, path, options)).toEqual({
      status,
      body: { code, message: expect.any(String) },
    });
  });
});

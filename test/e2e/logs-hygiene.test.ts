/**
 * Log hygiene: a whole session through the local stack (`node local/start.ts`, LOG_LEVEL=debug, its
 * stdout and stderr captured), then every line it printed is checked.
 *
 * The session: tokens in the query string, in the subprotocol list and in an Authorization header;
 * direct and group messages with distinctive content; typing; markRead; a group with a title; sync of a
 * conversation and of the list; registerDevice with a distinctive push token; a push to that user once
 * offline; a frame refused for its over-long content; two refused upgrades (a forged and an expired
 * token); an operator revoking a token (closing its socket); every socket closed; the stack stopped.
 *
 * What must never appear in any line, of the handlers or of the local stack:
 * - any token used, accepted or refused, whole or its signature alone;
 * - the JWT secret (this run's JWT_SECRET, and the default `parley-local-secret`);
 * - message content, including the content of a refused frame.
 * Decided here, beyond the list:
 * - group titles count as content (people write in them what they write in messages): never logged;
 * - push device tokens are credentials (with the platform's keys they reach a device), kept hashed in
 *   the table's claim items already: never logged. `GET /_local/pushes` does return them, as
 *   protocol.md says; that is an answer to a local HTTP request, not a log.
 * User ids, device ids, connection ids, conversation ids and `jti`s are identifiers, logged by design
 * (docs/protocol.md "Operations": operations log the `jti`); display names are not checked.
 *
 * And the shape: every line is either a handler's JSON object (level, message, timestamp; a route's or
 * the authorizer's with its route, connectionId and requestId), a `[local]` line of the stack, or the
 * start-up banner. Nothing else (no stray console output, no stack traces).
 */

import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LOCAL_SERVER_CREDENTIALS } from '../../definitions/server-api.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect, refusal } from '../../local/harness/ws-client.ts';
import { DEFAULT_JWT_SECRET } from '../../local/jwt-secret.ts';

const RUN = randomUUID();
const JWT_SECRET = `hygiene-secret-${RUN}`;
const CONTENT = (n: number) => `SECRET-CONTENT-${RUN}-${n}`;
const TITLE = `SECRET-TITLE-${RUN}`;
const PUSH_TOKEN = `SECRET-PUSHTOKEN-${RUN}`;
const POLL = { timeout: 20_000, interval: 50 };

let stack: LocalStackProcess;
let output = '';
const tokens: string[] = [];
const opened: Client[] = [];

async function token(sub: string, claims: { exp?: number; secret?: string } = {}): Promise<string> {
  const jwt = await new SignJWT({ name: `${sub} hygiene` })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setJti(`${sub}-jti-${RUN.slice(0, 8)}`)
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? '1h')
    .sign(new TextEncoder().encode(claims.secret ?? JWT_SECRET));
  tokens.push(jwt);
  return jwt;
}

async function open(url: string, options: Parameters<typeof connect>[1] = {}): Promise<Client> {
  const client = await connect(url, options);
  opened.push(client);
  return client;
}

async function request(
  client: Client,
  frame: Record<string, unknown>,
  match: (answer: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  client.send(frame);
  return client.until(match);
}

async function closeAndWait(client: Client): Promise<void> {
  client.socket.close();
  await client.closed;
}

beforeAll(async () => {
  stack = await startLocalStackProcess({ LOG_LEVEL: 'debug', JWT_SECRET });
}, 90_000);

afterAll(async () => {
  for (const client of opened) client.socket.terminate();
  await stack?.stop();
});

describe('a whole session through the local stack', () => {
  it('runs: every kind of frame, a push, refusals, an operation, disconnects', async () => {
    // Three ways to carry the token
    const alice = await open(`${stack.url}/?token=${await token('alice')}&deviceId=alice-phone`);
    const bob = await open(`${stack.url}/?deviceId=bob-laptop`, {
      protocols: ['parley', await token('bob')],
    });
    expect(bob.socket.protocol).toBe('parley');
    const carolToken = await token('carol');
    const carol = await open(`${stack.url}/`, { headers: { Authorization: `Bearer ${carolToken}` } });
    // dave registers his phone for push, then goes offline
    const dave = await open(`${stack.url}/?token=${await token('dave')}&deviceId=dave-phone`);
    expect(
      await request(
        dave,
        { action: 'registerDevice', platform: 'fcm', token: PUSH_TOKEN },
        (f) => f.type === 'ack',
      ),
    ).toEqual({ type: 'ack', action: 'registerDevice' });
    await closeAndWait(dave);

    // A direct message, typing and a read
    const ack = await request(
      alice,
      { action: 'sendMessage', to: 'bob', clientMessageId: 'h-1', content: CONTENT(1) },
      (f) => f.type === 'ack',
    );
    expect(await bob.until((f) => f.type === 'message')).toMatchObject({ content: CONTENT(1) });
    // bob answers: typing and reads pass once both have written (protocol.md 1.2)
    await request(
      bob,
      { action: 'sendMessage', to: 'alice', clientMessageId: 'h-answer', content: CONTENT(1) },
      (f) => f.type === 'ack',
    );
    await alice.until((f) => f.type === 'message');
    bob.send({ action: 'typing', conversationId: ack.conversationId, state: 'start' });
    expect(await alice.until((f) => f.type === 'typing')).toMatchObject({ userId: 'bob' });
    alice.send({ action: 'markRead', conversationId: ack.conversationId, seq: 2 });
    expect(await bob.until((f) => f.type === 'read')).toMatchObject({ userId: 'alice', seq: 2 });

    // A group with a title, and a message in it
    const group = await request(
      alice,
      { action: 'createConversation', clientRequestId: 'h-group', members: ['bob', 'carol'], title: TITLE },
      (f) => f.type === 'conversation' && f.kind === 'group',
    );
    expect(group).toMatchObject({ title: TITLE });
    await request(
      carol,
      {
        action: 'sendMessage',
        conversationId: group.conversationId,
        clientMessageId: 'h-2',
        content: CONTENT(2),
      },
      (f) => f.type === 'ack',
    );
    expect(await bob.until((f) => f.type === 'message' && f.content === CONTENT(2))).toBeDefined();

    // sync, of a conversation and of the list
    const page = await request(
      bob,
      { action: 'sync', conversationId: ack.conversationId },
      (f) => f.type === 'messages',
    );
    expect(page.messages).toEqual([
      expect.objectContaining({ content: CONTENT(1) }),
      expect.objectContaining({ content: CONTENT(1) }),
    ]);
    const list = await request(bob, { action: 'sync' }, (f) => f.type === 'conversations');
    expect(list.conversations).toContainEqual(expect.objectContaining({ title: TITLE }));

    // A push to dave, offline
    await request(
      alice,
      { action: 'sendMessage', to: 'dave', clientMessageId: 'h-3', content: CONTENT(3) },
      (f) => f.type === 'ack',
    );
    await expect
      .poll(async () => {
        const pushes = (await (await fetch(`${stack.httpUrl}/_local/pushes`)).json()) as Record<
          string,
          unknown
        >[];
        return pushes.find((push) => push.userId === 'dave');
      }, POLL)
      .toMatchObject({ token: PUSH_TOKEN, body: CONTENT(3) });

    // Refused: content over 4000 characters (made of secret content), a forged token, an expired one
    const tooLong = await request(
      alice,
      { action: 'sendMessage', to: 'bob', clientMessageId: 'h-4', content: CONTENT(4).repeat(100) },
      (f) => f.type === 'error',
    );
    expect(tooLong).toMatchObject({ code: 'too_large' });
    expect(
      await refusal(`${stack.url}/?token=${await token('mallory', { secret: 'forged-secret-of-mallory' })}`),
    ).toBe(401);
    expect(
      await refusal(
        `${stack.url}/?token=${await token('alice', { exp: Math.floor(Date.now() / 1000) - 3600 })}`,
      ),
    ).toBe(401);

    // An operator revokes carol's token: her socket closes
    const revoked = await fetch(`${stack.httpUrl}/_local/tokens/carol-jti-${RUN.slice(0, 8)}/revoke`, {
      method: 'POST',
    });
    expect(revoked.status).toBe(204);
    await carol.closed;
    expect(await refusal(`${stack.url}/`, { headers: { Authorization: `Bearer ${carolToken}` } })).toBe(401);

    // Everyone leaves; the stack stops (its last lines are part of what is checked)
    await closeAndWait(alice);
    await closeAndWait(bob);
    expect(alice.socket.readyState).toBe(WebSocket.CLOSED);
    await stack.stop();
    output = stack.output();
  }, 120_000);
});

describe('what the stack and the handlers logged', () => {
  const lines = () => output.split('\n').filter((line) => line.trim() !== '');
  const jsonLines = () =>
    lines()
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('holds no token, no secret, no message content, no title, no push token', () => {
    expect(output.length).toBeGreaterThan(0);
    const secrets: [string, string][] = [
      ...tokens.flatMap((jwt, i): [string, string][] => [
        [`token ${i + 1}`, jwt],
        [`signature of token ${i + 1}`, jwt.split('.')[2] ?? jwt],
      ]),
      ['JWT_SECRET', JWT_SECRET],
      ['the default secret', DEFAULT_JWT_SECRET],
      ...[1, 2, 3, 4].map((n): [string, string] => [`content ${n}`, CONTENT(n)]),
      ['the group title', TITLE],
      ['the push token', PUSH_TOKEN],
      ['the run id, which only secrets carry', RUN],
    ];
    expect(tokens.length).toBe(6);

    // The banner prints the server API's documented local credentials (integration.md); its secret
    // happens to begin with the JWT default's characters, which must appear nowhere else.
    const rest = output.replaceAll(LOCAL_SERVER_CREDENTIALS.secretAccessKey, '');
    const found = secrets.filter(([, secret]) => rest.includes(secret)).map(([what]) => what);

    expect(found).toEqual([]);
    expect(output).not.toMatch(/bearer\s/i);
  });

  it('is JSON for every handler line, with the connection and request ids of its invocation', () => {
    const LOCAL = /^\d{2}:\d{2}:\d{2}\.\d{3} \[local\] /;
    const BANNER = /^ {2}\S|^PARLEY_LOCAL_READY \{/;
    const other = lines().filter((line) => !line.startsWith('{') && !LOCAL.test(line) && !BANNER.test(line));
    expect(other).toEqual([]);

    const parsed = jsonLines();
    const unplaced: Record<string, unknown>[] = [];
    for (const line of parsed) {
      expect(['debug', 'info', 'warn', 'error']).toContain(line.level);
      expect(line.message).toBeTypeOf('string');
      expect(Date.parse(String(line.timestamp))).not.toBeNaN();
      // Each line says which invocation it belongs to: a route's or the authorizer's by its connection
      // and request ids, a delivery's by the stream record, an operation by who asked.
      const ofRoute =
        typeof line.route === 'string' &&
        typeof line.connectionId === 'string' &&
        line.connectionId !== '' &&
        typeof line.requestId === 'string' &&
        line.requestId !== '';
      const ofRecord = typeof line.eventID === 'string' && typeof line.sequenceNumber === 'string';
      const ofOperation = line.message === 'operation applied' && typeof line.by === 'string';
      if (!ofRoute && !ofRecord && !ofOperation) unplaced.push(line);
    }
    expect(unplaced).toEqual([]);
    // Every route of the session logged (at debug level, all of them), as did delivery and the operation.
    const routes = new Set(parsed.map((line) => line.route));
    for (const route of [
      '$connect',
      '$disconnect',
      'sendMessage',
      'typing',
      'markRead',
      'createConversation',
      'sync',
      'registerDevice',
    ]) {
      expect(routes, route).toContain(route);
    }
    expect(
      parsed.some((line) => line.message === 'operation applied' && line.operation === 'revokeToken'),
    ).toBe(true);
    expect(parsed.some((line) => typeof line.eventID === 'string')).toBe(true);
    // LOG_LEVEL reached the handlers: the harness's default (warn) would have hidden these info lines.
    expect(parsed.some((line) => line.level === 'info' && line.message === 'request handled')).toBe(true);
  });
});

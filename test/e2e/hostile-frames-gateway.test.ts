/**
 * A sample of the hostile frames of test/integration/hostile-frames.test.ts (about 300: 18 for each
 * route a frame can reach, and 6 valid ones for each route that reads DynamoDB to refuse them, from the
 * same generators in test/support/hostile-frames.ts), sent by a real WebSocket client through the local
 * stack (`node local/start.ts`: the gateway's route selection, the real handlers, DynamoDB Local).
 * Through the gateway a frame reaches the route its `action` names, or `$default`; each is answered
 * with the error code protocol.md gives it (or `pong` / the caller's empty list), on a connection that
 * stays open throughout, while two other users' connections receive nothing of it and keep working.
 *
 * Then what closes a connection before any route runs: a binary message (1003), a message over
 * 128 KiB (1009), and a text message that is not UTF-8 (1007, the WebSocket protocol's "invalid frame
 * payload data": protocol.md does not name this case; the local stack's `ws` server closes so). After
 * each, the other users' connections still work.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RATE_LIMIT_SETTINGS, settingRange } from '../../definitions/rate-limits.ts';
import { ROUTES } from '../../definitions/routes.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import {
  cheapCases,
  defaultAnswer,
  type Expected,
  HOSTILE_ROUTES,
  type HostileCase,
  storedCases,
} from '../support/hostile-frames.ts';
import { localToken } from './support/tokens.ts';

const MAX_MESSAGE_BYTES = 128 * 1024;
const CHEAP_PER_ROUTE = 18;
const STORED_PER_ROUTE = 6;
const SEED = Date.now() % 2 ** 31;

let stack: LocalStackProcess;
let bob: Client;
let carol: Client;
const opened: Client[] = [];
const world = {
  caller: 'mallory',
  foreignConversations: [] as string[],
  deactivatedUser: 'ghost',
  stranger: 'dave',
};

async function open(userId: string): Promise<Client> {
  const client = await connect(`${stack.url}/?token=${await localToken(userId)}`);
  opened.push(client);
  return client;
}

/** Sends a frame and waits for the answer `match` picks (other frames may come first: delivery is async). */
async function request(
  client: Client,
  frame: Record<string, unknown>,
  match: (answer: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  client.send(frame);
  return client.until(match);
}

/**
 * Pings and collects what arrived before the pong: the connection is open and answering, and nothing
 * in what it received came from mallory (delivery receipts and presence of bob and carol may come at
 * any moment; typing, messages, reads or presence of mallory never may).
 */
async function expectWorkingAndUntouched(client: Client): Promise<void> {
  expect(client.socket.readyState).toBe(WebSocket.OPEN);
  client.send({ action: 'ping' });
  const before: Record<string, unknown>[] = [];
  for (;;) {
    const frame = (await client.next()) as Record<string, unknown>;
    if (frame.type === 'pong') break;
    before.push(frame);
  }
  const fromMallory = before.filter(
    (frame) => frame.type === 'typing' || frame.senderId === world.caller || frame.userId === world.caller,
  );
  expect(fromMallory).toEqual([]);
}

/** Frames until one of each type has come, in any order (the stream delivers partitions in parallel). */
async function untilEach(client: Client, types: string[]): Promise<void> {
  const missing = new Set(types);
  while (missing.size > 0) {
    const frame = (await client.next()) as Record<string, unknown>;
    missing.delete(String(frame.type));
  }
}

const SELECTABLE = new Set<string>(
  ROUTES.map((route) => route.routeKey).filter((key) => !key.startsWith('$')),
);

/** The route the gateway gives a body to: its `action`, when that names a route (API Gateway's rule). */
function selectedRoute(body: string): string {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return '$default';
    const action = (value as Record<string, unknown>).action;
    return typeof action === 'string' && SELECTABLE.has(action) ? action : '$default';
  } catch {
    return '$default';
  }
}

/** What a client receives for the case through the gateway. */
function expectedThroughGateway(item: HostileCase): Expected {
  return selectedRoute(item.body) === item.route ? item.expected : defaultAnswer(item.body);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The sample: what fits in one message, is valid UTF-16 (a client cannot send a lone surrogate as
 * text: it would arrive as U+FFFD) and reaches its own route or `$default`.
 */
function sample(): HostileCase[] {
  const fits = (item: HostileCase) =>
    Buffer.byteLength(item.body) <= MAX_MESSAGE_BYTES &&
    !LONE_SURROGATE.test(item.body) &&
    [item.route, '$default'].includes(selectedRoute(item.body));
  const draw = (cases: fc.Arbitrary<HostileCase> | undefined, count: number, seed: number) =>
    cases === undefined
      ? []
      : fc
          .sample(cases, { numRuns: count * 3, seed })
          .filter(fits)
          .slice(0, count);
  return HOSTILE_ROUTES.flatMap((route, index) => [
    ...draw(cheapCases(route, world), CHEAP_PER_ROUTE, SEED + index),
    ...draw(storedCases(route, world), STORED_PER_ROUTE, SEED + index),
  ]);
}

beforeAll(async () => {
  // Rate limits out of the way (each at its largest): every answer below is a function of the frame,
  // not of timing.
  stack = await startLocalStackProcess(
    Object.fromEntries(
      Object.values(RATE_LIMIT_SETTINGS).map((setting) => [setting.env, String(settingRange(setting).max)]),
    ),
  );
  // GIVEN bob and carol talk, directly and in a group; ghost is deactivated; mallory is in nothing
  bob = await open('bob');
  carol = await open('carol');
  const ack = await request(
    bob,
    { action: 'sendMessage', to: 'carol', clientMessageId: 'b-1', content: 'hi' },
    (frame) => frame.type === 'ack',
  );
  const group = await request(
    bob,
    { action: 'createConversation', clientRequestId: 'g-1', members: ['carol'] },
    (frame) => frame.type === 'conversation' && frame.kind === 'group',
  );
  world.foreignConversations.push(String(ack.conversationId), String(group.conversationId));
  // carol gets bob's message and the group
  await untilEach(carol, ['message', 'conversation']);
  expect((await fetch(`${stack.httpUrl}/_local/users/ghost/deactivate`, { method: 'POST' })).status).toBe(
    204,
  );
  await expectWorkingAndUntouched(bob);
  await expectWorkingAndUntouched(carol);
}, 90_000);

afterAll(async () => {
  for (const client of opened) client.socket.terminate();
  await stack?.stop();
});

describe('hostile frames through the local gateway', () => {
  it('answers each with its error on a connection that stays open, and no one else hears of it', async () => {
    const mallory = await open('mallory');
    const cases = sample();
    // At least as many as the sample's malformed frames alone: every route is in it.
    expect(cases.length).toBeGreaterThanOrEqual(HOSTILE_ROUTES.length * CHEAP_PER_ROUTE);
    expect(new Set(cases.map((item) => item.route))).toEqual(new Set(HOSTILE_ROUTES));

    for (const item of cases) {
      mallory.send(item.body);
      const answer = (await mallory.next()) as Record<string, unknown>;

      const where = `seed ${SEED}, ${item.route}, ${item.kind}: ${JSON.stringify(item.body.slice(0, 200))}`;
      const expected = expectedThroughGateway(item);
      if ('error' in expected) {
        expect(answer, where).toMatchObject({ type: 'error', code: expected.error });
      } else if (expected.type === 'pong') {
        expect(answer, where).toEqual({ type: 'pong' });
      } else if (expected.type === 'blocks') {
        expect(answer, where).toEqual({ type: 'blocks', userIds: [] });
      } else {
        expect(answer, where).toEqual({ type: 'conversations', conversations: [], nextCursor: null });
      }
      expect(mallory.socket.readyState, where).toBe(WebSocket.OPEN);
    }

    await expectWorkingAndUntouched(mallory);
    await expectWorkingAndUntouched(bob);
    await expectWorkingAndUntouched(carol);
    // AND bob and carol still talk
    await request(
      bob,
      { action: 'sendMessage', to: 'carol', clientMessageId: 'b-2', content: 'still here' },
      (frame) => frame.type === 'ack',
    );
    expect(await carol.until((frame) => frame.type === 'message')).toMatchObject({ content: 'still here' });
  });

  it.each([
    [
      'a binary message',
      (socket: WebSocket) => socket.send(Buffer.from('{"action":"ping"}'), { binary: true }),
      1003,
    ],
    [
      'a message over 128 KiB',
      (socket: WebSocket) =>
        socket.send(JSON.stringify({ action: 'ping', pad: 'x'.repeat(MAX_MESSAGE_BYTES) })),
      1009,
    ],
    [
      'a text message that is not UTF-8',
      (socket: WebSocket) =>
        socket.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false }),
      1007,
    ],
  ] as const)('closes the connection on %s, before any route, and no one else is affected', async (_case, sendBad, code) => {
    const mallory = await open('mallory');
    await expectWorkingAndUntouched(mallory);

    sendBad(mallory.socket);

    expect((await mallory.closed).code).toBe(code);
    await expectWorkingAndUntouched(bob);
    await expectWorkingAndUntouched(carol);
  });
});

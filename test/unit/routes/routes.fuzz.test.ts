/**
 * Whatever a client sends, a route handler answers: it never throws (a throw is a 500 and a
 * disconnect-worthy mystery for the client), always answers 200 with no body or one JSON frame, and a
 * refusal is an `error` frame with one of protocol.md's codes that stored and posted nothing. DynamoDB
 * holds a few conversations and answers everything else with nothing, and never fails, so no input may
 * end in `internal` either: that would be a crash on bad input, not a server failure.
 */
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler as connect } from '../../../functions/routes/connect.ts';
import { handler as createConversation } from '../../../functions/routes/create-conversation.ts';
import { handler as defaultRoute } from '../../../functions/routes/default.ts';
import { handler as leaveConversation } from '../../../functions/routes/leave-conversation.ts';
import { handler as markRead } from '../../../functions/routes/mark-read.ts';
import { handler as ping } from '../../../functions/routes/ping.ts';
import { handler as sendMessage } from '../../../functions/routes/send-message.ts';
import { handler as typing } from '../../../functions/routes/typing.ts';
import type { RouteResponse, WebSocketEvent } from '../../../functions/shared/websocket-event.ts';
import { connectEvent, lambdaContext, messageEvent } from '../../support/ws-events.ts';
import {
  api,
  ddb,
  givenConnections,
  givenConversation,
  givenLastSeq,
  givenRateBucketsAdmit,
  PROTOCOL_ERROR_CODES,
  writesSent,
} from './route-mocks.ts';

type Handler = (event: WebSocketEvent, context: typeof lambdaContext) => Promise<RouteResponse>;

interface Route {
  action: string;
  handler: Handler;
  /** Frame types a valid request may be answered with (besides no body). */
  answers: string[];
}

const ROUTES: Route[] = [
  { action: '$default', handler: defaultRoute, answers: [] },
  { action: 'ping', handler: ping, answers: ['pong'] },
  { action: 'sendMessage', handler: sendMessage, answers: ['ack'] },
  { action: 'typing', handler: typing, answers: [] },
  { action: 'markRead', handler: markRead, answers: ['read'] },
  { action: 'createConversation', handler: createConversation, answers: ['conversation'] },
  { action: 'leaveConversation', handler: leaveConversation, answers: ['ack'] },
];

const RUNS = 300;
const DM = directConversationId('alice', 'bob');
const TIMEOUT_MS = 20_000;

/** Long strings around the limits: 64 (ids), 128 (conversationId), 4000 (content), and beyond. */
const oversized = fc
  .tuple(
    fc.constantFrom('a', '😀', ' ', '#', 'é', '\u0000', '-'),
    fc.oneof(fc.constantFrom(63, 64, 65, 127, 128, 129, 3999, 4000, 4001), fc.integer({ min: 0, max: 6000 })),
  )
  .map(([unit, count]) => unit.repeat(count));

const plausible = fc.constantFrom(
  'bob',
  'alice',
  'carol',
  'dave',
  'grp-lunch',
  'grp-private',
  DM,
  'start',
  'stop',
  'hello',
  '',
  ' ',
  'm-1',
  1,
  0,
  -1,
  2 ** 60,
);

const fieldValue = fc.oneof(
  plausible,
  fc.anything(),
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.integer(),
  fc.double(),
  oversized,
);

/** A frame naming the route's action (or something else) with every field arbitrary or missing. */
const frameFor = (action: string) =>
  fc
    .tuple(
      fc.oneof(fc.constant(action), fieldValue),
      fc.record(
        {
          clientMessageId: fieldValue,
          clientRequestId: fieldValue,
          content: fieldValue,
          conversationId: fieldValue,
          to: fieldValue,
          state: fieldValue,
          seq: fieldValue,
          members: fc.oneof(fieldValue, fc.array(fieldValue, { maxLength: 120 })),
          title: fieldValue,
        },
        { requiredKeys: [] },
      ),
    )
    .map(([actionValue, fields]) => JSON.stringify({ action: actionValue, ...fields }));

const FIELDS = [
  'clientMessageId',
  'content',
  'conversationId',
  'to',
  'state',
  'seq',
  'clientRequestId',
  'members',
  'title',
] as const;
const target = fc.oneof(
  fc.constantFrom('grp-lunch', 'grp-private', 'grp-nope', DM).map((conversationId) => ({ conversationId })),
  fc.constantFrom('bob', 'carol', 'dave', 'alice').map((to) => ({ to })),
);

/** A valid frame of each action, against the populated table below. */
const VALID: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  $default: fc.constant({ action: 'editMessage' }),
  ping: fc.constant({ action: 'ping' }),
  sendMessage: target.map((to) => ({
    action: 'sendMessage',
    clientMessageId: 'm-1',
    content: 'hello',
    ...to,
  })),
  typing: fc
    .tuple(target, fc.constantFrom('start', 'stop'))
    .map(([to, state]) => ({ action: 'typing', state, ...to })),
  markRead: fc
    .tuple(fc.constantFrom('grp-lunch', 'grp-private', 'grp-nope', DM), fc.integer({ min: 1, max: 4 }))
    .map(([conversationId, seq]) => ({ action: 'markRead', conversationId, seq })),
  createConversation: fc
    .tuple(
      fc.array(fc.constantFrom('alice', 'bob', 'carol', 'dave'), { maxLength: 5 }),
      fc.option(fc.constantFrom('Lunch', ' ', 'Weekend trip'), { nil: undefined }),
    )
    .map(([members, title]) => ({ action: 'createConversation', clientRequestId: 'r-1', members, title })),
  leaveConversation: fc
    .constantFrom('grp-lunch', 'grp-private', 'grp-nope', DM)
    .map((conversationId) => ({ action: 'leaveConversation', conversationId })),
};

type Mutation = { kind: 'keep' } | { kind: 'drop' } | { kind: 'set'; value: unknown };
const mutation = (weights: { keep: number; drop: number; set: number }): fc.Arbitrary<Mutation> =>
  fc.oneof(
    { weight: weights.keep, arbitrary: fc.constant<Mutation>({ kind: 'keep' }) },
    { weight: weights.drop, arbitrary: fc.constant<Mutation>({ kind: 'drop' }) },
    { weight: weights.set, arbitrary: fieldValue.map<Mutation>((value) => ({ kind: 'set', value })) },
  );

/** A valid frame with some fields dropped, replaced by arbitrary values, or added. */
const nearlyValid = (action: string) =>
  fc
    .tuple(
      VALID[action] ?? fc.constant({ action }),
      fc.array(fc.tuple(mutation({ keep: 4, drop: 1, set: 1 }), mutation({ keep: 8, drop: 0, set: 1 })), {
        minLength: FIELDS.length,
        maxLength: FIELDS.length,
      }),
    )
    .map(([frame, changes]) => {
      const mutated: Record<string, unknown> = { ...frame };
      FIELDS.forEach((field, index) => {
        const [ifPresent, ifAbsent] = changes[index] ?? [];
        const change = field in frame ? ifPresent : ifAbsent;
        if (change?.kind === 'drop') delete mutated[field];
        if (change?.kind === 'set') mutated[field] = change.value;
      });
      return JSON.stringify(mutated);
    });

/** Any text at all, any JSON, any value serialised. */
const anyBody = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc.anything().map((value) => JSON.stringify(value) ?? 'undefined'),
  oversized,
);

async function expectAnswered(route: Route, body: string): Promise<void> {
  ddb.resetHistory();
  api.resetHistory();

  // WHEN (a throw rejects here and fails the property)
  const response = await route.handler(messageEvent(body), lambdaContext);

  // THEN
  expect(response.statusCode).toBe(200);
  expect(response.headers).toBeUndefined();
  if (response.body === undefined) {
    expect(['typing', 'markRead']).toContain(route.action);
    return;
  }
  const frame = JSON.parse(response.body) as Record<string, unknown>;
  if (frame.type !== 'error') {
    expect(route.answers).toContain(frame.type);
    return;
  }
  expect(PROTOCOL_ERROR_CODES).toContain(frame.code);
  expect(frame.code).not.toBe('internal');
  expect(frame.message).toBeTypeOf('string');
  if (route.action !== '$default') expect(frame.action).toBe(route.action);
  for (const echoed of ['clientMessageId', 'clientRequestId']) {
    const value = frame[echoed];
    if (value !== undefined) expect(typeof value === 'string' && value.length <= 64).toBe(true);
  }
  expect(writesSent()).toBe(0);
  expect(api).not.toHaveReceivedCommand(PostToConnectionCommand);
}

describe('route handlers under arbitrary input', () => {
  beforeAll(() => {
    // Everything else is empty: a missing conversation, member or user state.
    ddb.onAnyCommand().resolves({});
    givenRateBucketsAdmit();
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({});
    api.onAnyCommand().resolves({});
    givenConversation('grp-lunch', ['alice', 'bob', 'carol']);
    givenConversation('grp-private', ['bob', 'carol']);
    givenConversation(DM, ['alice', 'bob'], 'direct');
    givenLastSeq('grp-lunch', 3);
    for (const [conversationId, readSeq, lastSeq] of [
      ['grp-lunch', 2, 3],
      [DM, 0, 0],
    ] as const) {
      ddb.on(GetCommand, { Key: { PK: `CONV#${conversationId}`, SK: 'MEMBER#alice' } }).resolves({
        Item: { conversationId, userId: 'alice', readSeq, lastSeq },
      });
    }
    ddb.on(GetCommand, { Key: { PK: 'USER#carol', SK: 'STATE' } }).resolves({ Item: { deactivated: true } });
    givenConnections({ bob: ['bob-phone'], carol: ['carol-phone'] });
  });

  afterAll(() => {
    ddb.reset();
    api.reset();
  });

  describe.each(ROUTES)('$action', (route) => {
    it(
      'answers any body with 200 and no body, an allowed frame or a protocol error that stored nothing',
      async () => {
        await fc.assert(
          fc.asyncProperty(anyBody, (body) => expectAnswered(route, body)),
          { numRuns: RUNS },
        );
      },
      TIMEOUT_MS,
    );

    it(
      'answers nearly valid frames (fields dropped, replaced or added) the same way',
      async () => {
        await fc.assert(
          fc.asyncProperty(nearlyValid(route.action), (body) => expectAnswered(route, body)),
          { numRuns: RUNS },
        );
      },
      TIMEOUT_MS,
    );

    it(
      'answers frames of its action with arbitrary fields the same way',
      async () => {
        await fc.assert(
          fc.asyncProperty(frameFor(route.action), (body) => expectAnswered(route, body)),
          { numRuns: RUNS },
        );
      },
      TIMEOUT_MS,
    );
  });

  it('answers every frame $default sees with an error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, frameFor('sendMessage')), async (body) => {
        const response = await defaultRoute(messageEvent(body), lambdaContext);
        const frame = JSON.parse(response.body ?? 'null') as { type?: unknown; code?: unknown };
        expect(frame.type).toBe('error');
        expect(['bad_request', 'unknown_action']).toContain(frame.code);
      }),
      { numRuns: RUNS },
    );
  });

  it(
    '$connect stores the connection and answers the parley subprotocol only when it was offered',
    async () => {
      const protocolHeader = fc.record({
        name: fc.constantFrom('Sec-WebSocket-Protocol', 'sec-websocket-protocol', 'SEC-WEBSOCKET-PROTOCOL'),
        offers: fc.array(fc.oneof(fc.constant('parley'), fc.string(), fc.constantFrom('Parley', 'parley2')), {
          maxLength: 4,
        }),
        spacing: fc.constantFrom(',', ', ', ' , '),
      });
      await fc.assert(
        fc.asyncProperty(fc.option(protocolHeader), async (header) => {
          ddb.resetHistory();
          const event = connectEvent({ deviceId: 'iphone-7f3a' });
          event.headers = { Host: 'abc123.execute-api.eu-west-1.amazonaws.com' };
          if (header !== null) event.headers[header.name] = header.offers.join(header.spacing);

          const response = await connect(event, lambdaContext);

          const offered = header?.offers.some((offer) => offer.trim() === 'parley') ?? false;
          expect(response).toEqual(
            offered
              ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'parley' } }
              : { statusCode: 200 },
          );
          expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );
});

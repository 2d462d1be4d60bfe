/**
 * Whatever a client sends, a route handler answers: it never throws (a throw is a 500 and a
 * disconnect-worthy mystery for the client), always answers 200 with no body or one JSON frame, and a
 * refusal is an `error` frame with one of protocol.md's codes that stored, posted and pushed nothing.
 * DynamoDB holds a few conversations and answers everything else with nothing, and never fails (nor
 * does SNS), so no input may end in `internal` either: that would be a crash on bad input, not a
 * server failure.
 *
 * Every route of definitions/routes.ts is in FUZZED_ROUTES, with a valid frame to start from and the
 * answers a valid frame may get; a new route does not compile until it is (test/support/route-tables.ts). */
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { CreatePlatformEndpointCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteKey } from '../../../definitions/routes.ts';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler as acceptRequest } from '../../../functions/routes/accept-request.ts';
import { handler as block } from '../../../functions/routes/block.ts';
import { handler as connect } from '../../../functions/routes/connect.ts';
import { handler as createConversation } from '../../../functions/routes/create-conversation.ts';
import { handler as defaultRoute } from '../../../functions/routes/default.ts';
import { handler as deleteMessage } from '../../../functions/routes/delete-message.ts';
import { handler as editMessage } from '../../../functions/routes/edit-message.ts';
import { handler as leaveConversation } from '../../../functions/routes/leave-conversation.ts';
import { handler as listBlocks } from '../../../functions/routes/list-blocks.ts';
import { handler as markRead } from '../../../functions/routes/mark-read.ts';
import { handler as ping } from '../../../functions/routes/ping.ts';
import { handler as react } from '../../../functions/routes/react.ts';
import { handler as registerDevice } from '../../../functions/routes/register-device.ts';
import { handler as report } from '../../../functions/routes/report.ts';
import { handler as requestUpload } from '../../../functions/routes/request-upload.ts';
import { handler as sendMessage } from '../../../functions/routes/send-message.ts';
import { handler as sync } from '../../../functions/routes/sync.ts';
import { handler as typing } from '../../../functions/routes/typing.ts';
import { handler as unregisterDevice } from '../../../functions/routes/unregister-device.ts';
import type { RouteResponse, WebSocketEvent } from '../../../functions/shared/websocket-event.ts';
import { connectEvent, lambdaContext, messageEvent, type Who } from '../../../local/harness/ws-events.ts';
import { frameRouteEntries, NOT_A_FRAME_ROUTE, type NotAFrameRoute } from '../../support/route-tables.ts';
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

const sns = mockClient(SNSClient);

interface FuzzedRoute {
  readonly handler: Handler;
  /** Frame types a valid request may be answered with (besides no body). */
  readonly answers: readonly string[];
  /** A valid frame of the route, against the populated table below. */
  readonly valid: fc.Arbitrary<Record<string, unknown>>;
  /** Whose connection the frames come from: alice's, without a deviceId, unless given. */
  readonly who?: Who;
}

const RUNS = 300;
const DM = directConversationId('alice', 'bob');
const TIMEOUT_MS = 20_000;
const MiB = 1024 * 1024;
/** alice on her phone: the device routes act on the connection's deviceId. */
const ALICE_PHONE: Who = { userId: 'alice', deviceId: 'iphone-7f3a' };

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
  '👍',
  '👍👍',
  'image/png',
  'text/html',
  'fcm',
  'spam',
  'minor_safety',
  true,
  false,
  1,
  0,
  -1,
  25 * MiB,
  25 * MiB + 1,
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
          afterSeq: fieldValue,
          limit: fieldValue,
          cursor: fieldValue,
          platform: fieldValue,
          token: fieldValue,
          emoji: fieldValue,
          on: fieldValue,
          contentType: fieldValue,
          size: fieldValue,
          reason: fieldValue,
          note: fieldValue,
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
  'afterSeq',
  'limit',
  'cursor',
  'platform',
  'token',
  'emoji',
  'on',
  'contentType',
  'size',
  'reason',
  'note',
] as const;
const target = fc.oneof(
  fc.constantFrom('grp-lunch', 'grp-private', 'grp-nope', DM).map((conversationId) => ({ conversationId })),
  fc.constantFrom('bob', 'carol', 'dave', 'alice').map((to) => ({ to })),
);

const CONVERSATIONS = ['grp-lunch', 'grp-private', 'grp-nope', DM] as const;
const conversationId = fc.constantFrom(...CONVERSATIONS);
const seq = fc.integer({ min: 1, max: 4 });

/** Every route, with what it is fuzzed from; `$connect`'s handshake is fuzzed on its own, below. */
const FUZZED_ROUTES = {
  // API Gateway runs these on the upgrade request and on the close: no client frame reaches them.
  $connect: NOT_A_FRAME_ROUTE,
  $disconnect: NOT_A_FRAME_ROUTE,
  // A frame naming an action no route has.
  $default: { handler: defaultRoute, answers: [], valid: fc.constant({ action: 'setNotifications' }) },
  sendMessage: {
    handler: sendMessage,
    answers: ['ack'],
    valid: target.map((to) => ({ action: 'sendMessage', clientMessageId: 'm-1', content: 'hello', ...to })),
  },
  typing: {
    handler: typing,
    answers: [],
    valid: fc
      .tuple(target, fc.constantFrom('start', 'stop'))
      .map(([to, state]) => ({ action: 'typing', state, ...to })),
  },
  markRead: {
    handler: markRead,
    answers: ['read'],
    valid: fc
      .tuple(conversationId, seq)
      .map(([id, at]) => ({ action: 'markRead', conversationId: id, seq: at })),
  },
  createConversation: {
    handler: createConversation,
    answers: ['conversation'],
    valid: fc
      .tuple(
        fc.array(fc.constantFrom('alice', 'bob', 'carol', 'dave'), { maxLength: 5 }),
        fc.option(fc.constantFrom('Lunch', ' ', 'Weekend trip'), { nil: undefined }),
      )
      .map(([members, title]) => ({ action: 'createConversation', clientRequestId: 'r-1', members, title })),
  },
  registerDevice: {
    handler: registerDevice,
    answers: ['ack'],
    who: ALICE_PHONE,
    valid: fc
      .tuple(
        fc.constantFrom('apns', 'apns_sandbox', 'fcm'),
        fc.constantFrom('740f4707bebcf74f', 'fcm-token-1'),
      )
      .map(([platform, token]) => ({ action: 'registerDevice', platform, token })),
  },
  unregisterDevice: {
    handler: unregisterDevice,
    answers: ['ack'],
    who: ALICE_PHONE,
    valid: fc.constant({ action: 'unregisterDevice' }),
  },
  ping: { handler: ping, answers: ['pong'], valid: fc.constant({ action: 'ping' }) },
  sync: {
    handler: sync,
    answers: ['messages', 'conversations'],
    valid: fc.oneof(
      fc
        .tuple(conversationId, fc.nat({ max: 5 }), fc.integer({ min: 1, max: 100 }))
        .map(([id, afterSeq, limit]) => ({ action: 'sync', conversationId: id, afterSeq, limit })),
      fc.integer({ min: 1, max: 100 }).map((limit) => ({ action: 'sync', limit })),
    ),
  },
  editMessage: {
    handler: editMessage,
    answers: ['ack'],
    valid: fc
      .tuple(conversationId, seq, fc.constantFrom('edited', ' fixed ', '😀'))
      .map(([id, at, content]) => ({ action: 'editMessage', conversationId: id, seq: at, content })),
  },
  deleteMessage: {
    handler: deleteMessage,
    answers: ['ack'],
    valid: fc
      .tuple(conversationId, seq)
      .map(([id, at]) => ({ action: 'deleteMessage', conversationId: id, seq: at })),
  },
  react: {
    handler: react,
    answers: ['ack'],
    valid: fc
      .tuple(conversationId, seq, fc.constantFrom('👍', '❤️', '🇺🇳', '👩‍👩‍👧‍👦'), fc.boolean())
      .map(([id, at, emoji, on]) => ({ action: 'react', conversationId: id, seq: at, emoji, on })),
  },
  leaveConversation: {
    handler: leaveConversation,
    answers: ['ack'],
    valid: conversationId.map((id) => ({ action: 'leaveConversation', conversationId: id })),
  },
  requestUpload: {
    handler: requestUpload,
    answers: ['upload'],
    valid: fc
      .tuple(
        fc.constantFrom('image/jpeg', 'video/mp4', 'application/pdf'),
        fc.constantFrom(1, 1234, 25 * MiB),
      )
      .map(([contentType, size]) => ({ action: 'requestUpload', clientRequestId: 'u-1', contentType, size })),
  },
  report: {
    handler: report,
    answers: ['ack'],
    valid: fc
      .tuple(
        conversationId,
        fc.option(seq, { nil: undefined }),
        fc.constantFrom('spam', 'harassment', 'minor_safety', 'other'),
        fc.option(fc.constantFrom('he keeps writing', ' ', 'x'.repeat(1000)), { nil: undefined }),
      )
      .map(([id, at, reason, note]) => ({
        action: 'report',
        clientRequestId: 'r-1',
        conversationId: id,
        ...(at === undefined ? {} : { seq: at }),
        reason,
        ...(note === undefined ? {} : { note }),
      })),
  },
  block: {
    handler: block,
    answers: ['ack'],
    valid: fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9_.:@-]{1,64}$/), fc.boolean())
      .map(([userId, on]) => ({ action: 'block', userId, on })),
  },
  listBlocks: {
    handler: listBlocks,
    answers: ['blocks'],
    valid: fc.constant({ action: 'listBlocks' }),
  },
  // alice's direct conversation (no request in it: an ack), bob and carol's, and groups (bad_request).
  acceptRequest: {
    handler: acceptRequest,
    answers: ['ack'],
    valid: fc
      .constantFrom(...CONVERSATIONS, directConversationId('bob', 'carol'))
      .map((id) => ({ action: 'acceptRequest', conversationId: id })),
  },
} satisfies Record<RouteKey, FuzzedRoute | NotAFrameRoute>;

const ROUTES = frameRouteEntries(FUZZED_ROUTES).map(([action, route]): FuzzedRoute & { action: string } => ({
  action,
  ...route,
}));

type Mutation = { kind: 'keep' } | { kind: 'drop' } | { kind: 'set'; value: unknown };
const mutation = (weights: { keep: number; drop: number; set: number }): fc.Arbitrary<Mutation> =>
  fc.oneof(
    { weight: weights.keep, arbitrary: fc.constant<Mutation>({ kind: 'keep' }) },
    { weight: weights.drop, arbitrary: fc.constant<Mutation>({ kind: 'drop' }) },
    { weight: weights.set, arbitrary: fieldValue.map<Mutation>((value) => ({ kind: 'set', value })) },
  );

/** A valid frame with some fields dropped, replaced by arbitrary values, or added. */
const nearlyValid = (valid: fc.Arbitrary<Record<string, unknown>>) =>
  fc
    .tuple(
      valid,
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

async function expectAnswered(route: FuzzedRoute & { action: string }, body: string): Promise<void> {
  ddb.resetHistory();
  api.resetHistory();
  sns.resetHistory();

  // WHEN (a throw rejects here and fails the property)
  const response = await route.handler(messageEvent(body, route.who), lambdaContext);

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
  expect(sns.calls()).toEqual([]);
}

describe('route handlers under arbitrary input', () => {
  beforeAll(() => {
    // Everything else is empty: a missing conversation, member or user state.
    ddb.onAnyCommand().resolves({});
    givenRateBucketsAdmit();
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({});
    api.onAnyCommand().resolves({});
    sns.onAnyCommand().resolves({});
    sns.on(CreatePlatformEndpointCommand).callsFake((input: { Token: string }) => ({
      EndpointArn: `arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/parley/${input.Token}`,
    }));
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
    sns.restore();
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
          fc.asyncProperty(nearlyValid(route.valid), (body) => expectAnswered(route, body)),
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

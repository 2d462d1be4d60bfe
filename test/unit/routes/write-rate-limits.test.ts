/**
 * Every action that writes has a per-user rate limit (protocol.md 1.2, "Limits on every write"). For
 * each route limited since 1.2: past its limit the frame is answered `rate_limited` with
 * `retryAfterMs`, after one UpdateItem of the caller's bucket and nothing else (no read, no write, no
 * SNS call); a frame its own checks refuse never reaches the bucket. The limits are the defaults of
 * definitions/rate-limits.ts (nothing here configures them). sendMessage and typing have their own tests.
 */
import { SNSClient } from '@aws-sdk/client-sns';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LimitedAction } from '../../../definitions/rate-limits.ts';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler as acceptRequest } from '../../../functions/routes/accept-request.ts';
import { handler as block } from '../../../functions/routes/block.ts';
import { handler as createConversation } from '../../../functions/routes/create-conversation.ts';
import { handler as deleteMessage } from '../../../functions/routes/delete-message.ts';
import { handler as editMessage } from '../../../functions/routes/edit-message.ts';
import { handler as leaveConversation } from '../../../functions/routes/leave-conversation.ts';
import { handler as markRead } from '../../../functions/routes/mark-read.ts';
import { handler as react } from '../../../functions/routes/react.ts';
import { handler as registerDevice } from '../../../functions/routes/register-device.ts';
import { handler as requestUpload } from '../../../functions/routes/request-upload.ts';
import { handler as unregisterDevice } from '../../../functions/routes/unregister-device.ts';
import type { RouteResponse, WebSocketEvent } from '../../../functions/shared/websocket-event.ts';
import { lambdaContext, messageEvent, type Who } from '../../../local/harness/ws-events.ts';
import {
  conditionFailed,
  ddb,
  frameOf,
  RECEIVED_AT_EPOCH,
  rateBucketUpdate,
  sentToDynamo,
} from './route-mocks.ts';

const sns = mockClient(SNSClient);

/** API Gateway's receipt of the fixture frame, and the clock: the routes read one or the other. */
const NOW = RECEIVED_AT_EPOCH;
const ALICE: Who = { userId: 'alice', name: 'Alice Martin', deviceId: 'iphone-7f3a' };
const GROUP = 'grp-lunch';
const TOKEN = '740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad';

type Handler = (event: WebSocketEvent, context: typeof lambdaContext) => Promise<RouteResponse>;

interface LimitedRoute {
  readonly action: LimitedAction;
  readonly handler: Handler;
  readonly frame: Record<string, unknown>;
  /** The default limit, as documented: `rate` a minute after `burst` at once. */
  readonly rate: number;
  readonly burst: number;
  /** Echoed in the error frame. */
  readonly echo?: Record<string, unknown>;
  /** A frame that passes the schema but that the route's own checks refuse, with its code. */
  readonly locallyRefused?: { frame: Record<string, unknown>; who?: Who; code: string };
}

const ROUTES: readonly LimitedRoute[] = [
  {
    action: 'markRead',
    handler: markRead,
    frame: { conversationId: GROUP, seq: 3 },
    rate: 120,
    burst: 30,
  },
  {
    action: 'createConversation',
    handler: createConversation,
    frame: { clientRequestId: 'g-1', members: ['bob'] },
    rate: 3,
    burst: 5,
    echo: { clientRequestId: 'g-1' },
    locallyRefused: { frame: { clientRequestId: 'g-1', members: ['alice'] }, code: 'bad_request' },
  },
  {
    action: 'editMessage',
    handler: editMessage,
    frame: { conversationId: GROUP, seq: 7, content: 'lunch at 1?' },
    rate: 60,
    burst: 20,
    locallyRefused: { frame: { conversationId: GROUP, seq: 7, content: '   ' }, code: 'bad_request' },
  },
  {
    action: 'deleteMessage',
    handler: deleteMessage,
    frame: { conversationId: GROUP, seq: 7 },
    rate: 60,
    burst: 20,
  },
  {
    action: 'react',
    handler: react,
    frame: { conversationId: GROUP, seq: 7, emoji: '👍', on: true },
    rate: 60,
    burst: 20,
    locallyRefused: { frame: { conversationId: GROUP, seq: 7, emoji: 'ok', on: true }, code: 'bad_request' },
  },
  {
    action: 'leaveConversation',
    handler: leaveConversation,
    frame: { conversationId: GROUP },
    rate: 20,
    burst: 20,
  },
  {
    action: 'block',
    handler: block,
    frame: { userId: 'mallory', on: true },
    rate: 20,
    burst: 20,
    locallyRefused: { frame: { userId: 'alice', on: true }, code: 'forbidden' },
  },
  {
    action: 'acceptRequest',
    handler: acceptRequest,
    frame: { conversationId: directConversationId('alice', 'bob') },
    rate: 20,
    burst: 20,
    locallyRefused: { frame: { conversationId: GROUP }, code: 'bad_request' },
  },
  {
    action: 'requestUpload',
    handler: requestUpload,
    frame: { clientRequestId: 'photo-1', contentType: 'image/png', size: 2048 },
    rate: 30,
    burst: 20,
    echo: { clientRequestId: 'photo-1' },
    locallyRefused: {
      frame: { clientRequestId: 'photo-1', contentType: 'image/png', size: 26 * 1024 * 1024 },
      code: 'too_large',
    },
  },
  {
    action: 'registerDevice',
    handler: registerDevice,
    frame: { platform: 'apns', token: TOKEN },
    rate: 10,
    burst: 10,
    locallyRefused: {
      frame: { platform: 'apns', token: TOKEN },
      who: { ...ALICE, deviceId: '' },
      code: 'bad_request',
    },
  },
  {
    action: 'unregisterDevice',
    handler: unregisterDevice,
    frame: {},
    rate: 10,
    burst: 10,
    locallyRefused: { frame: {}, who: { ...ALICE, deviceId: '' }, code: 'bad_request' },
  },
];

const send = (route: LimitedRoute, frame: Record<string, unknown>, who: Who = ALICE) =>
  route.handler(messageEvent({ action: route.action, ...frame }, who), lambdaContext);

describe('the rate limit of every write since 1.2', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });

  afterEach(() => {
    vi.useRealTimers();
    ddb.reset();
    sns.reset();
  });

  it.each(
    ROUTES.map((route) => [route.action, route] as const),
  )('refuses %s past its limit with retryAfterMs, after asking its bucket and nothing else', async (action, route) => {
    // GIVEN alice's bucket for the action is full: one more fits one interval from now
    const intervalMs = 60_000 / route.rate;
    ddb
      .on(UpdateCommand, { Key: { PK: 'RATE#alice', SK: action } })
      .rejects(conditionFailed(marshall({ tat: NOW + route.burst * intervalMs })));

    // WHEN
    const frame = frameOf(await send(route, route.frame));

    // THEN
    expect(frame).toEqual({
      type: 'error',
      code: 'rate_limited',
      message: `more than ${route.rate} ${action} a minute; retry after ${intervalMs} ms`,
      action,
      retryAfterMs: intervalMs,
      ...route.echo,
    });
    expect(sentToDynamo()).toEqual([rateBucketUpdate('alice', action)]);
    expect(sns).not.toHaveReceivedAnyCommand();
  });

  it.each(
    ROUTES.flatMap((route) =>
      route.locallyRefused === undefined ? [] : [[route.action, route.locallyRefused.code, route] as const],
    ),
  )('refuses a %s its own checks refuse (%s) without asking the bucket', async (_action, code, route) => {
    const refused = route.locallyRefused;
    if (refused === undefined) throw new Error('no locally refused frame');

    const frame = frameOf(await send(route, refused.frame, refused.who));

    expect(frame).toMatchObject({ type: 'error', code });
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(sns).not.toHaveReceivedAnyCommand();
  });
});

/**
 * The rate limit of every action that writes (protocol.md 1.2, "Limits on every write") through the real
 * handlers and DynamoDB Local, with each limit configured at 1 a minute after a burst of 2: the third
 * request at once is answered `rate_limited` with `retryAfterMs`, changes nothing in the table but the
 * caller's rate bucket (and calls no SNS), is still refused 1 ms before `retryAfterMs` has passed, and
 * goes through once it has. The clock (`Date`) is faked so that what is tested is the limit, not the
 * machine's speed.
 */
import { randomUUID } from 'node:crypto';
import {
  CreatePlatformEndpointCommand,
  DeleteEndpointCommand,
  SetEndpointAttributesCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LimitedAction, RATE_LIMITED_ACTIONS } from '../../definitions/rate-limits.ts';
import { handler as acceptRequest } from '../../functions/routes/accept-request.ts';
import { handler as block } from '../../functions/routes/block.ts';
import { handler as createConversation } from '../../functions/routes/create-conversation.ts';
import { handler as deleteMessage } from '../../functions/routes/delete-message.ts';
import { handler as editMessage } from '../../functions/routes/edit-message.ts';
import { handler as leaveConversation } from '../../functions/routes/leave-conversation.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as react } from '../../functions/routes/react.ts';
import { handler as registerDevice } from '../../functions/routes/register-device.ts';
import { handler as report } from '../../functions/routes/report.ts';
import { handler as requestUpload } from '../../functions/routes/request-upload.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as unregisterDevice } from '../../functions/routes/unregister-device.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { RATE_LIMITS } from '../../functions/shared/config.ts';
import type { RouteResponse, WebSocketEvent } from '../../functions/shared/websocket-event.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { seedGroupConversation } from '../support/seed.ts';

// Read by the handlers when they load (integration-setup.ts sets these high for the other files).
vi.hoisted(() => {
  for (const limit of ['READ', 'CHANGE', 'CONVERSATION', 'MEMBERSHIP', 'UPLOAD', 'DEVICE', 'REPORT']) {
    process.env[`${limit}_RATE_PER_MINUTE`] = '1';
    process.env[`${limit}_BURST`] = '2';
  }
});

const sns = mockClient(SNSClient);
afterAll(() => sns.restore());

type Handler = (event: WebSocketEvent, context: typeof lambdaContext) => Promise<RouteResponse>;
type Frame = Record<string, unknown>;

/** Calls a route as `userId` (on `deviceId`) with API Gateway's receipt time at the faked clock. */
async function call(handler: Handler, frame: Frame, userId: string): Promise<Frame | undefined> {
  const event = messageEvent(frame, {
    userId,
    connectionId: `${userId}-conn`,
    deviceId: `${userId}-phone`,
  });
  event.requestContext.requestTimeEpoch = Date.now();
  const response = await handler(event, lambdaContext);
  return response.body === undefined ? undefined : (JSON.parse(response.body) as Frame);
}

const accepted = (answer: Frame | undefined) => answer === undefined || answer.type !== 'error';

/** Every item of the table, by key, as JSON. */
async function tableItems(): Promise<Map<string, string>> {
  const items = new Map<string, string>();
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({ TableName: TABLE_NAME, ConsistentRead: true, ExclusiveStartKey }),
    );
    for (const item of page.Items ?? []) items.set(`${item.PK} ${item.SK}`, JSON.stringify(item));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** What changed between two scans, apart from `userId`'s rate buckets (asking, not storing). */
function changes(before: Map<string, string>, after: Map<string, string>, userId: string): string[] {
  const changed: string[] = [];
  for (const [key, item] of after) {
    if (key.startsWith(`RATE#${userId} `) && !key.includes('UPLOAD_BYTES#')) continue;
    if (before.get(key) !== item) changed.push(`${before.has(key) ? 'changed' : 'new'}: ${item}`);
  }
  for (const key of before.keys()) if (!after.has(key)) changed.push(`gone: ${key}`);
  return changed;
}

/** A group of `userId` and bob with three messages from `sender`: their seqs are 1, 2, 3. */
async function groupWithMessages(userId: string, sender: string): Promise<string> {
  const conversationId = `grp_${randomUUID()}`;
  await seedGroupConversation(conversationId, [userId, 'bob']);
  for (const n of [1, 2, 3]) {
    const ack = await call(
      sendMessage,
      { action: 'sendMessage', conversationId, clientMessageId: randomUUID(), content: `message ${n}` },
      sender,
    );
    expect(ack).toMatchObject({ type: 'ack', conversationId, seq: n, duplicate: false });
  }
  return conversationId;
}

interface Case {
  readonly handler: Handler;
  /** Makes what the three requests need, and answers them (without `action`). */
  readonly frames: (userId: string) => Promise<readonly Frame[]>;
}

const CASES: Record<Exclude<LimitedAction, 'sendMessage' | 'typing' | NotBuilt>, Case> = {
  markRead: {
    handler: markRead,
    frames: async (userId) => {
      const conversationId = await groupWithMessages(userId, 'bob');
      return [1, 2, 3].map((seq) => ({ conversationId, seq }));
    },
  },
  createConversation: {
    handler: createConversation,
    frames: async () =>
      ['g-1', 'g-2', 'g-3'].map((clientRequestId) => ({ clientRequestId, members: ['bob'] })),
  },
  editMessage: {
    handler: editMessage,
    frames: async (userId) => {
      const conversationId = await groupWithMessages(userId, userId);
      return [1, 2, 3].map((seq) => ({ conversationId, seq, content: `edited ${seq}` }));
    },
  },
  deleteMessage: {
    handler: deleteMessage,
    frames: async (userId) => {
      const conversationId = await groupWithMessages(userId, userId);
      return [1, 2, 3].map((seq) => ({ conversationId, seq }));
    },
  },
  react: {
    handler: react,
    frames: async (userId) => {
      const conversationId = await groupWithMessages(userId, 'bob');
      return ['👍', '🎉', '😂'].map((emoji) => ({ conversationId, seq: 1, emoji, on: true }));
    },
  },
  leaveConversation: {
    handler: leaveConversation,
    frames: async (userId) => {
      const groups = [randomUUID(), randomUUID(), randomUUID()].map((id) => `grp_${id}`);
      await Promise.all(groups.map((id) => seedGroupConversation(id, [userId, 'bob', 'carol'])));
      return groups.map((conversationId) => ({ conversationId }));
    },
  },
  requestUpload: {
    handler: requestUpload,
    frames: async () =>
      ['p-1', 'p-2', 'p-3'].map((clientRequestId) => ({
        clientRequestId,
        contentType: 'image/jpeg',
        size: 2048,
      })),
  },
  registerDevice: {
    handler: registerDevice,
    frames: async () => ['a', 'b', 'c'].map((digit) => ({ platform: 'apns', token: digit.repeat(64) })),
  },
  unregisterDevice: {
    handler: unregisterDevice,
    frames: async () => [{}, {}, {}],
  },
  report: {
    handler: report,
    frames: async (userId) => {
      const conversationId = await groupWithMessages(userId, 'bob');
      return [1, 2, 3].map((seq) => ({
        clientRequestId: `r-${seq}`,
        conversationId,
        seq,
        reason: 'spam',
      }));
    },
  },
  block: {
    handler: block,
    frames: async (userId) => [1, 2, 3].map((n) => ({ userId: `${userId}-pest-${n}`, on: true })),
  },
  acceptRequest: {
    handler: acceptRequest,
    // Three direct conversations, each made by someone's first message to the user (under the default
    // `open` policy none is a request: each accept is an ack).
    frames: async (userId) => {
      const frames: Frame[] = [];
      for (const n of [1, 2, 3]) {
        const ack = await call(
          sendMessage,
          { action: 'sendMessage', to: userId, clientMessageId: randomUUID(), content: `hello ${n}` },
          `${userId}-peer-${n}`,
        );
        expect(ack).toMatchObject({ type: 'ack', seq: 1, duplicate: false });
        frames.push({ conversationId: ack?.conversationId });
      }
      return frames;
    },
  },
};
/** Limited in definitions/rate-limits.ts, for routes other engineers are building. */
type NotBuilt = 'setNotifications';

describe('the rate limit of every write', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    sns.reset();
    sns.on(CreatePlatformEndpointCommand).callsFake(({ Token }: { Token: string }) => ({
      EndpointArn: `arn:aws:sns:us-east-1:123456789012:endpoint/APNS/parley/${Token.slice(0, 8)}`,
    }));
    sns.on(SetEndpointAttributesCommand).resolves({});
    sns.on(DeleteEndpointCommand).resolves({});
  });
  afterEach(() => vi.useRealTimers());

  it('is configured here at 1 a minute after 2 at once for each of them', () => {
    for (const action of Object.keys(CASES) as (keyof typeof CASES)[]) {
      expect(RATE_LIMITS[action], action).toEqual({ rate: 1, per: 'minute', burst: 2 });
      expect(RATE_LIMITED_ACTIONS[action].per).toBe('minute');
    }
  });

  it.each(
    Object.entries(CASES),
  )('answers a third %s at once rate_limited with retryAfterMs, storing nothing, and lets it through after the wait', async (action, {
    handler,
    frames,
  }) => {
    const userId = `${action.toLowerCase()}-${randomUUID().slice(0, 8)}`;
    const three = await frames(userId);
    expect(three).toHaveLength(3);
    const [first = {}, second = {}, third = {}] = three;
    const send = (frame: Frame) => call(handler, { action, ...frame }, userId);

    // The burst of 2 passes.
    expect(await send(first)).toSatisfy(accepted);
    expect(await send(second)).toSatisfy(accepted);
    const snsCalls = sns.calls().length;

    // The third is refused and changes nothing.
    const before = await tableItems();
    const refused = await send(third);
    expect(refused).toMatchObject({ type: 'error', code: 'rate_limited', action, retryAfterMs: 60_000 });
    expect(changes(before, await tableItems(), userId)).toEqual([]);
    expect(sns.calls()).toHaveLength(snsCalls);

    // It fits exactly when retryAfterMs has passed: not a millisecond sooner.
    const start = Date.now();
    vi.setSystemTime(start + 60_000 - 1);
    expect(await send(third)).toMatchObject({ code: 'rate_limited', retryAfterMs: 1 });
    vi.setSystemTime(start + 60_000);
    expect(await send(third)).toSatisfy(accepted);
  });
});

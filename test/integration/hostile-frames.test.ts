/**
 * Hostile input through the real route handlers against DynamoDB Local (architecture.md guarantee 7):
 * 10,000 fast-check frames per route a frame can reach (every route of definitions/routes.ts but
 * $connect and $disconnect: $default, sendMessage, typing, markRead, createConversation,
 * registerDevice, unregisterDevice, ping, sync, editMessage, deleteMessage, react, leaveConversation,
 * requestUpload, block, listBlocks, acceptRequest, report), built by test/support/hostile-frames.ts:
 * not JSON, JSON that is not an object, the wrong action, fields of the wrong type, missing or given
 * twice, numbers like 1e308, 1e999, -0 and 2**53+1, NaN-ish strings, lone surrogates, NUL, zero-width
 * and bidi characters, fields over their limits (4001+ characters of content, 129-character ids, 101
 * members, emoji over 32 bytes, uploads over 25 MiB), an acceptRequest of an id that is not a direct
 * conversation's, `__proto__` / `constructor` / `prototype` keys, nesting 4,000 deep, arrays of 20,000
 * elements.
 *
 * Every frame must be answered, never thrown on: status 200, one `error` frame under 128 KiB with the
 * code protocol.md gives that class of input (never `internal`), its `action`, and clientMessageId /
 * clientRequestId echoed only as given; or, for the few well-formed frames that need nothing stored,
 * the route's answer (`pong`, the caller's empty conversation list).
 *
 * The numbers, per route (10,000 each, 180,000 in all):
 * - sendMessage, typing, markRead, createConversation, sync, editMessage, deleteMessage, react,
 *   leaveConversation, listBlocks, acceptRequest, report: 9,800 frames refused before any DynamoDB call
 *   (asserted per frame: zero calls), and 200 valid frames that do read DynamoDB: to conversations of
 *   others (existing or not), to a deactivated user, a group with a deactivated member, the caller's
 *   own (empty) conversation list or blocks, a well-formed cursor of no list of theirs, the accept of a
 *   direct conversation of others. They answer `forbidden`, `bad_request`, the empty list or no blocks,
 *   and write nothing but the caller's rate bucket (asserted per frame).
 * - registerDevice, unregisterDevice, ping, requestUpload, block, $default: 10,000 frames, all answered
 *   without DynamoDB (the caller's connection has no deviceId, so even a valid device frame is a
 *   bad_request; a valid requestUpload stores its upload and a valid block its block, so only refused
 *   ones are sent: a block of the caller itself is one).
 * A scan of the whole table before and after each run must find the same items, but for the caller's
 * rate buckets: no message, conversation, member, receipt, device or upload item appears or changes.
 * Nothing is posted to a connection and nothing is sent to SNS. Object.prototype and friends are as
 * before. */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { SNSClient } from '@aws-sdk/client-sns';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_FRAME_BYTES } from '../../functions/domain/frame-size.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { handler as acceptRequest } from '../../functions/routes/accept-request.ts';
import { handler as block } from '../../functions/routes/block.ts';
import { handler as createConversation } from '../../functions/routes/create-conversation.ts';
import { handler as defaultRoute } from '../../functions/routes/default.ts';
import { handler as deleteMessage } from '../../functions/routes/delete-message.ts';
import { handler as editMessage } from '../../functions/routes/edit-message.ts';
import { handler as leaveConversation } from '../../functions/routes/leave-conversation.ts';
import { handler as listBlocks } from '../../functions/routes/list-blocks.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as ping } from '../../functions/routes/ping.ts';
import { handler as react } from '../../functions/routes/react.ts';
import { handler as registerDevice } from '../../functions/routes/register-device.ts';
import { handler as report } from '../../functions/routes/report.ts';
import { handler as requestUpload } from '../../functions/routes/request-upload.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { handler as typing } from '../../functions/routes/typing.ts';
import { handler as unregisterDevice } from '../../functions/routes/unregister-device.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import type { RouteResponse, WebSocketEvent } from '../../functions/shared/websocket-event.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import {
  cheapCases,
  HOSTILE_ROUTES,
  type HostileCase,
  type HostileRoute,
  type HostileWorld,
  PROTOCOL_ERROR_CODES,
  storedCases,
} from '../support/hostile-frames.ts';
import { seedGroupConversation, seedUserState } from '../support/seed.ts';

// The typing limit (burst 6) would answer the 200 typing frames `rate_limited` after the sixth; a
// limit of 1,000 keeps every answer independent of timing. Read by the handlers when they load.
vi.hoisted(() => {
  process.env.TYPING_RATE_PER_SECOND = '1000';
  process.env.TYPING_BURST = '1000';
});

const FRAMES_PER_ROUTE = 10_000;
const STORED_RUNS = 200;
const CALLER_CONNECTION = 'HstL3mallory0A=';

type Handler = (event: WebSocketEvent, context: typeof lambdaContext) => Promise<RouteResponse>;
/** Every route hostile-frames.ts makes frames for (so every route a frame can reach): its handler. */
const HANDLERS: Record<HostileRoute, Handler> = {
  $default: defaultRoute,
  sendMessage,
  typing,
  markRead,
  createConversation,
  registerDevice,
  unregisterDevice,
  ping,
  sync,
  editMessage,
  deleteMessage,
  react,
  leaveConversation,
  requestUpload,
  report,
  block,
  listBlocks,
  acceptRequest,
};

const PRIVATE_GROUP = 'grp_hostile-private';
const world: HostileWorld = {
  caller: 'mallory',
  foreignConversations: [PRIVATE_GROUP, directConversationId('bob', 'carol')],
  deactivatedUser: 'ghost',
  stranger: 'dave',
};

const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);
afterAll(() => {
  api.restore();
  sns.restore();
});

/** The DynamoDB commands the handlers send while `recording`, with their input. */
const calls: { command: string; input: Record<string, unknown> }[] = [];
let recording = false;
dynamo.middlewareStack.add(
  (next, context) => async (args) => {
    if (recording) {
      calls.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
    }
    return next(args);
  },
  { step: 'initialize', name: 'recordHostileFrameCalls' },
);

const WRITES = /Put|Update|Delete|Write/;
const isOwnRateBucket = ({ command, input }: (typeof calls)[number]): boolean =>
  /Update/.test(command) && (input.Key as { PK?: unknown } | undefined)?.PK === `RATE#${world.caller}`;

/** Every item of the table, by key, as JSON: compared before and after a run. */
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

/** What changed between two scans, leaving out the caller's own rate buckets (asking, not storing). */
function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [key, item] of after) {
    if (key.startsWith(`RATE#${world.caller} `)) continue;
    if (before.get(key) !== item) changed.push(`${before.has(key) ? 'changed' : 'new'}: ${item}`);
  }
  for (const key of before.keys()) if (!after.has(key)) changed.push(`gone: ${key}`);
  return changed;
}

function parsedObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the case through its route's handler; a throw fails the property (it would be a 500). */
async function answer(item: HostileCase): Promise<RouteResponse> {
  const event = messageEvent(item.body, { userId: world.caller, connectionId: CALLER_CONNECTION });
  event.requestContext.routeKey = item.route;
  calls.length = 0;
  recording = true;
  try {
    return await HANDLERS[item.route](event, lambdaContext);
  } finally {
    recording = false;
  }
}

function expectAnswered(item: HostileCase, response: RouteResponse): void {
  const where = `${item.route}, ${item.kind}: ${JSON.stringify(item.body.slice(0, 300))}`;
  expect(response.statusCode, where).toBe(200);
  expect(response.headers, where).toBeUndefined();
  expect(response.body, where).toBeTypeOf('string');
  const body = response.body ?? '';
  expect(Buffer.byteLength(body), where).toBeLessThan(MAX_FRAME_BYTES);
  const frame = JSON.parse(body) as Record<string, unknown>;
  const { expected } = item;
  if ('error' in expected) {
    expect(frame.type, where).toBe('error');
    expect(PROTOCOL_ERROR_CODES, where).toContain(frame.code);
    expect(frame.code, `${where}: ${String(frame.message)}`).toBe(expected.error);
    expect(frame.message, where).toBeTypeOf('string');
    const sent = parsedObject(item.body);
    const action =
      item.route === '$default'
        ? typeof sent?.action === 'string'
          ? sent.action.slice(0, 64)
          : undefined
        : item.route;
    expect(frame.action, where).toBe(action);
    for (const key of ['clientMessageId', 'clientRequestId']) {
      const value = sent?.[key];
      expect(frame[key], where).toBe(typeof value === 'string' && value.length <= 64 ? value : undefined);
    }
    expect(
      Object.keys(frame).filter((key) => !ERROR_FRAME_KEYS.has(key)),
      where,
    ).toEqual([]);
  } else if (expected.type === 'pong') {
    expect(frame, where).toEqual({ type: 'pong' });
  } else if (expected.type === 'blocks') {
    expect(frame, where).toEqual({ type: 'blocks', userIds: [] });
  } else {
    expect(frame, where).toEqual({ type: 'conversations', conversations: [], nextCursor: null });
  }
}

const ERROR_FRAME_KEYS = new Set(['type', 'code', 'message', 'action', 'clientMessageId', 'clientRequestId']);

/** Own property names and values of the built-in prototypes, to see that no frame polluted them. */
function prototypes(): Map<string, unknown> {
  const snapshot = new Map<string, unknown>();
  const builtIns = { Object, Array, Function, String, Number, Boolean, Promise, Error };
  for (const [name, builtIn] of Object.entries(builtIns)) {
    for (const key of Reflect.ownKeys(builtIn.prototype)) {
      snapshot.set(
        `${name}.prototype.${String(key)}`,
        Object.getOwnPropertyDescriptor(builtIn.prototype, key)?.value,
      );
    }
  }
  return snapshot;
}

const prototypesBefore = prototypes();

beforeAll(async () => {
  api.onAnyCommand().resolves({});
  sns.onAnyCommand().resolves({});
  // GIVEN conversations mallory is not in (a group, and bob and carol's direct conversation, made by
  // bob's first message), a deactivated user, and an active one mallory never wrote to
  await seedGroupConversation(PRIVATE_GROUP, ['bob', 'carol']);
  const first = await sendMessage(
    messageEvent(
      { action: 'sendMessage', to: 'carol', clientMessageId: 'bob-first', content: 'lunch?' },
      { userId: 'bob', connectionId: 'HstL3bob000000A=' },
    ),
    lambdaContext,
  );
  expect(JSON.parse(first.body ?? '{}')).toMatchObject({ type: 'ack', seq: 1 });
  await seedUserState(world.deactivatedUser, { deactivated: true });
});

describe('hostile frames through the real handlers', () => {
  describe.each(HOSTILE_ROUTES)('%s', (route) => {
    const stored = storedCases(route, world);
    const cheapRuns = FRAMES_PER_ROUTE - (stored === undefined ? 0 : STORED_RUNS);

    it(`answers ${cheapRuns} malformed or refused frames with the right error, before any DynamoDB call`, async () => {
      const before = await tableItems();

      await fc.assert(
        fc.asyncProperty(cheapCases(route, world), async (item) => {
          const response = await answer(item);

          expectAnswered(item, response);
          expect(calls, `${item.kind}: ${item.body.slice(0, 200)}`).toEqual([]);
        }),
        { numRuns: cheapRuns },
      );

      expect(changes(before, await tableItems())).toEqual([]);
      expect(api.calls()).toEqual([]);
      expect(sns.calls()).toEqual([]);
    }, 120_000);

    if (stored !== undefined) {
      it(`answers ${STORED_RUNS} valid frames about what is not the caller's, storing nothing`, async () => {
        const before = await tableItems();

        await fc.assert(
          fc.asyncProperty(stored, async (item) => {
            const response = await answer(item);

            expectAnswered(item, response);
            // It did ask DynamoDB (so the recorder works, and the zero-call checks above mean something)…
            expect(calls.length, item.kind).toBeGreaterThan(0);
            // …and wrote nothing but the caller's rate bucket.
            const writes = calls.filter((call) => WRITES.test(call.command) && !isOwnRateBucket(call));
            expect(writes, `${item.kind}: ${item.body.slice(0, 200)}`).toEqual([]);
          }),
          { numRuns: STORED_RUNS },
        );

        expect(changes(before, await tableItems())).toEqual([]);
        expect(api.calls()).toEqual([]);
        expect(sns.calls()).toEqual([]);
      }, 120_000);
    }
  });

  it('leaves the built-in prototypes as they were', () => {
    expect(prototypes()).toEqual(prototypesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });
});

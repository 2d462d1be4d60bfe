/**
 * Authorization on every action (architecture.md guarantees 6, 9 and 10), against DynamoDB Local with
 * the real handlers: every route of definitions/routes.ts that takes a frame × five callers, with the
 * outcome of each cell, then what a non-member can learn. MATRIX_ROWS has rows for every route, so a
 * route added there does not compile without them (test/support/route-tables.ts); `$connect` and
 * `$disconnect` take no frame, and who may connect is asserted below (standingOf). protocol.md 1.2's
 * setNotifications has no route yet: it reaches `$default` (its row: unknown_action, whoever asks).
 *
 * The world: alice made the group G = {alice, bob, dora, rick, sara} and wrote in it, and wrote to bob
 * (their direct conversation A–B, where he answered); bob wrote in G, and so did alice, dora, rick and sara, twice each (a
 * message each edits, and one each deletes, in the matrix). alice also made H, a group of the same five
 * that the matrix leaves (leaving G would change it for the rows after it). eve is in none of them.
 * Then an operator deactivated dora, revoked rick's token (by `jti`) and revoked all of sara's sessions.
 * Each of them had a connection open: the operation closed it (DeleteConnection, asserted below) and
 * from now on `$connect` refuses them (`standingOf`, the authorizer's check, asserted below against the
 * same table; every 401/403 of the authorizer is in test/unit/authorizer/jwt-attack-matrix.test.ts).
 * The matrix sends each caller's frame with the authorizer context of that connection: for dora, rick
 * and sara that is a frame that raced the close.
 *
 * What the handlers do today with such a frame: they serve it as for anyone in good standing. Routes
 * take the caller from `requestContext.authorizer` and read nothing to learn who is speaking
 * (architecture.md "The shape"), so what keeps a deactivated or revoked user out is that the operation
 * closes their sockets (functions/domain/operations.ts) and the authorizer refuses the reconnect; as
 * recipients, delivery skips a deactivated user (isReachable). The cells marked † pin that behaviour.
 *
 * The non-member part shows eve learns nothing: the same `forbidden` for G, for A–B (whose id anyone
 * can compute) and for conversations that do not exist, for every conversation-scoped action (the
 * DynamoDB calls behind those answers are compared in non-member-answers.test.ts; acceptRequest, which
 * refuses any id not of a direct conversation on its form alone, has a test of its own); her conversation
 * list holds only her own; and when the stream's records of G and A–B (messages, the group's creation,
 * a read, alice's presence) run through the delivery Lambda, with eve connected, nothing reaches eve's
 * connection, while bob's gets them. Typing, which the handler posts itself, never reached her either.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { CreatePlatformEndpointCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ErrorCode } from '../../definitions/error-codes.ts';
import type { RouteKey } from '../../definitions/routes.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { standingOf } from '../../functions/authorizer/revocation.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { deactivateUser, revokeSessions, revokeToken } from '../../functions/domain/operations.ts';
import { handler as acceptRequest } from '../../functions/routes/accept-request.ts';
import { handler as block } from '../../functions/routes/block.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
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
import { handler as delivery } from '../../functions/stream/delivery.ts';
import { connectEvent, lambdaContext, messageEvent, type Who } from '../../local/harness/ws-events.ts';
import { frameRouteEntries, NOT_A_FRAME_ROUTE, type NotAFrameRoute } from '../support/route-tables.ts';
import { storedMessages } from '../support/seed.ts';
import { conversationInsert, messageInsert, readModify, streamEvent } from '../support/stream-events.ts';

// eve's typing probes would meet the typing limit (burst 6) otherwise; read when the handlers load.
vi.hoisted(() => {
  process.env.TYPING_RATE_PER_SECOND = '1000';
  process.env.TYPING_BURST = '1000';
});

type Route = (event: WebSocketEvent, context: typeof lambdaContext) => Promise<RouteResponse>;
type Frame = Record<string, unknown>;

const CALLERS = {
  member: 'alice',
  'non-member': 'eve',
  'deactivated †': 'dora',
  'token revoked †': 'rick',
  'sessions revoked †': 'sara',
} as const;
type CallerKind = keyof typeof CALLERS;
const CALLER_KINDS = Object.keys(CALLERS) as CallerKind[];

const TOKEN_ISSUED_AT = Math.floor(Date.now() / 1000) - 60;
/** Who each user is on their one connection, as the authorizer put it in the context. */
const who = (userId: string): Who => ({
  userId,
  connectionId: `${userId}-conn`,
  deviceId: `${userId}-phone`,
  jti: `${userId}-jti`,
});

const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);
afterAll(() => {
  api.restore();
  sns.restore();
});

/** Ids and seqs the world gets when it is built. */
const ids = {
  group: '',
  /** H: the group the matrix leaves. */
  leaveGroup: '',
  alicebob: directConversationId('alice', 'bob'),
  /** bob's message in G, which nobody in the matrix may change. */
  bobsMessage: 0,
  /** The messages of alice, dora, rick and sara in G that they edit and delete in the matrix. */
  own: {} as Record<string, { edit: number; delete: number }>,
};

async function call(route: Route, frame: Frame, userId: string): Promise<Frame | undefined> {
  const response = await route(messageEvent(frame, who(userId)), lambdaContext);
  expect(response.statusCode).toBe(200);
  return response.body === undefined ? undefined : (JSON.parse(response.body) as Frame);
}

// ---- the matrix ----

/**
 * What a cell expects: an answer frame, no answer, or an error code. `ack` for sendMessage also says in
 * which conversation the message landed; `list` whether the conversation list shows G.
 */
type Outcome =
  | 'ack'
  | 'ack in G'
  | 'ack in own DM with bob'
  | 'nothing'
  | 'conversation'
  | 'messages of G'
  | 'list with G'
  | 'list without G'
  | 'pong'
  | 'ack with seq'
  | 'upload'
  | 'ack with reportId'
  | 'blocks: eve'
  | 'blocks: none'
  | ErrorCode;

interface Row {
  readonly action: string;
  readonly route: Route;
  readonly frame: () => Frame;
  readonly outcomes: Readonly<Record<CallerKind, Outcome>>;
}

const send = (target: Frame) => () => ({
  action: 'sendMessage',
  clientMessageId: randomUUID(),
  content: 'matrix',
  ...target,
});
const group = (members: string[], title?: string) => () => ({
  action: 'createConversation',
  clientRequestId: randomUUID(),
  members,
  ...(title === undefined ? {} : { title }),
});
const G = '{G}';
const H = '{H}';
/** The caller's own message in G to edit, or to delete; eve has none: she names alice's first, seq 1. */
const OWN_TO_EDIT = '{own message to edit}';
const OWN_TO_DELETE = '{own message to delete}';
const BOBS = "{bob's message}";
const NO_SUCH_SEQ = 1_000_000;
const MiB = 1024 * 1024;
const change =
  (action: string, seq: unknown, fields: Frame = {}) =>
  () => ({
    action,
    conversationId: G,
    seq,
    ...fields,
  });
const reportOf =
  (conversationId: string, fields: Frame = {}) =>
  () => ({
    action: 'report',
    clientRequestId: randomUUID(),
    conversationId,
    reason: 'harassment',
    ...fields,
  });
const blockOf = (userId: string, on: boolean) => () => ({ action: 'block', userId, on });

const upload = (contentType: string, size: number) => () => ({
  action: 'requestUpload',
  clientRequestId: randomUUID(),
  contentType,
  size,
});

const row = (
  action: string,
  route: Route,
  frame: () => Frame,
  outcomes: readonly [Outcome, Outcome, Outcome, Outcome, Outcome],
): Row => ({
  action,
  route,
  frame,
  outcomes: Object.fromEntries(CALLER_KINDS.map((kind, index) => [kind, outcomes[index]])) as Record<
    CallerKind,
    Outcome
  >,
});

/**
 * Every route with its rows; a route added to definitions/routes.ts does not compile until it has them
 * here. The cells run in the order of the route table, rows in the order written.
 *
 * † served as for anyone in good standing (see the header). ‡ the caller's own direct conversation
 * with bob (created by this frame), never alice's. § the creator's own standing is not checked (a
 * connected caller is taken to be active), so dora's group with herself in it is made. Only a
 * message's sender edits or deletes it (bob's: `forbidden` for everyone else); a seq with no message is
 * `not_found` for members and `forbidden`, as any other question about G, for eve.
 */
// biome-ignore format: the matrix reads as a table
const MATRIX_ROWS = {
  // API Gateway runs these on the upgrade request and on the close: no frame reaches them. Who may
  // connect is the authorizer's (its standing check on the same five: 'what the operations did…').
  $connect: NOT_A_FRAME_ROUTE,
  $disconnect: NOT_A_FRAME_ROUTE,
  //  action                                    route               frame                                             member                    non-member                deactivated †             token revoked †           sessions revoked †
  $default: [
  row('$default {action: setNotifications} (no route)', defaultRoute, () => ({ action: 'setNotifications' }),           ['unknown_action',        'unknown_action',         'unknown_action',         'unknown_action',         'unknown_action']),
  ],
  sendMessage: [
  row('sendMessage {conversationId: G}',        sendMessage,        send({ conversationId: G }),                      ['ack in G',              'forbidden',              'ack in G',               'ack in G',               'ack in G']),
  row('sendMessage {to: bob} ‡',                sendMessage,        send({ to: 'bob' }),                              ['ack in own DM with bob','ack in own DM with bob', 'ack in own DM with bob', 'ack in own DM with bob', 'ack in own DM with bob']),
  row('sendMessage {to: dora}, deactivated',    sendMessage,        send({ to: 'dora' }),                             ['forbidden',             'forbidden',              'forbidden',              'forbidden',              'forbidden']),
  ],
  typing: [
  row('typing {conversationId: G}',             typing,             () => ({ action: 'typing', conversationId: G, state: 'start' }), ['nothing', 'forbidden',            'nothing',                'nothing',                'nothing']),
  ],
  markRead: [
  row('markRead {conversationId: G, seq: 1}',   markRead,           () => ({ action: 'markRead', conversationId: G, seq: 1 }),       ['nothing', 'forbidden',            'nothing',                'nothing',                'nothing']),
  ],
  createConversation: [
  row('createConversation {members: [bob]}',    createConversation, group(['bob'], 'Side'),                           ['conversation',          'conversation',           'conversation',           'conversation',           'conversation']),
  row('createConversation {members: [bob, dora]} §', createConversation, group(['bob', 'dora']),                      ['forbidden',             'forbidden',              'conversation',           'forbidden',              'forbidden']),
  ],
  registerDevice: [
  row('registerDevice',                         registerDevice,     () => ({ action: 'registerDevice', platform: 'fcm', token: `fcm-${randomUUID()}` }), ['ack', 'ack', 'ack', 'ack', 'ack']),
  ],
  unregisterDevice: [
  row('unregisterDevice',                       unregisterDevice,   () => ({ action: 'unregisterDevice' }),           ['ack',                   'ack',                    'ack',                    'ack',                    'ack']),
  ],
  ping: [
  row('ping',                                   ping,               () => ({ action: 'ping' }),                       ['pong',                  'pong',                   'pong',                   'pong',                   'pong']),
  ],
  sync: [
  row('sync {conversationId: G}',               sync,               () => ({ action: 'sync', conversationId: G }),    ['messages of G',         'forbidden',              'messages of G',          'messages of G',          'messages of G']),
  row('sync (conversation list)',               sync,               () => ({ action: 'sync', limit: 100 }),           ['list with G',           'list without G',         'list with G',            'list with G',            'list with G']),
  ],
  editMessage: [
  row('editMessage {G, own message}',           editMessage,        change('editMessage', OWN_TO_EDIT, { content: 'edited' }), ['ack with seq',    'forbidden',              'ack with seq',           'ack with seq',           'ack with seq']),
  row("editMessage {G, bob's message}",         editMessage,        change('editMessage', BOBS, { content: 'mine now' }),      ['forbidden',       'forbidden',              'forbidden',              'forbidden',              'forbidden']),
  row('editMessage {G, no such seq}',           editMessage,        change('editMessage', NO_SUCH_SEQ, { content: 'x' }),      ['not_found',       'forbidden',              'not_found',              'not_found',              'not_found']),
  ],
  deleteMessage: [
  row('deleteMessage {G, own message}',         deleteMessage,      change('deleteMessage', OWN_TO_DELETE),           ['ack with seq',          'forbidden',              'ack with seq',           'ack with seq',           'ack with seq']),
  row("deleteMessage {G, bob's message}",       deleteMessage,      change('deleteMessage', BOBS),                    ['forbidden',             'forbidden',              'forbidden',              'forbidden',              'forbidden']),
  row('deleteMessage {G, no such seq}',         deleteMessage,      change('deleteMessage', NO_SUCH_SEQ),             ['not_found',             'forbidden',              'not_found',              'not_found',              'not_found']),
  ],
  react: [
  row("react {G, bob's message, 👍, on}",        react,              change('react', BOBS, { emoji: '👍', on: true }), ['ack',                   'forbidden',              'ack',                    'ack',                    'ack']),
  row('react {G, no such seq, 👍, on}',          react,              change('react', NO_SUCH_SEQ, { emoji: '👍', on: true }), ['not_found',      'forbidden',              'not_found',              'not_found',              'not_found']),
  ],
  leaveConversation: [
  row('leaveConversation {conversationId: H}',  leaveConversation,  () => ({ action: 'leaveConversation', conversationId: H }), ['ack',            'forbidden',              'ack',                    'ack',                    'ack']),
  row('leaveConversation {A–B}, alice’s direct', leaveConversation, () => ({ action: 'leaveConversation', conversationId: ids.alicebob }), ['ack', 'forbidden',             'forbidden',              'forbidden',              'forbidden']),
  ],
  requestUpload: [
  row('requestUpload {image/png, 1 KiB}',       requestUpload,      upload('image/png', 1024),                        ['upload',                'upload',                 'upload',                 'upload',                 'upload']),
  row('requestUpload {size: 25 MiB + 1}',       requestUpload,      upload('image/png', 25 * MiB + 1),                ['too_large',             'too_large',              'too_large',              'too_large',              'too_large']),
  ],
  report: [
  row("report {G, bob's message}",              report,             reportOf(G, { seq: BOBS }),                       ['ack with reportId',     'forbidden',              'ack with reportId',      'ack with reportId',      'ack with reportId']),
  row('report {G} (the conversation)',          report,             reportOf(G, { note: 'the whole thread' }),        ['ack with reportId',     'forbidden',              'ack with reportId',      'ack with reportId',      'ack with reportId']),
  row('report {G, no such seq}',                report,             reportOf(G, { seq: NO_SUCH_SEQ }),                ['not_found',             'forbidden',              'not_found',              'not_found',              'not_found']),
  row('report {A–B}, alice’s direct',           report,             reportOf(ids.alicebob),                           ['ack with reportId',     'forbidden',              'forbidden',              'forbidden',              'forbidden']),
  ],
  // (1.2) Anyone may block anyone but themselves; the matrix blocks eve, lists, and unblocks her again.
  block: [
  row('block {eve, on}',                        block,              blockOf('eve', true),                             ['ack',                   'forbidden',              'ack',                    'ack',                    'ack']),
  row('block {bob, off}, never blocked: a no-op', block,              blockOf('bob', false),                            ['ack',                   'ack',                    'ack',                    'ack',                    'ack']),
  ],
  listBlocks: [
  row('listBlocks',                             listBlocks,         () => ({ action: 'listBlocks' }),                 ['blocks: eve',           'blocks: none',           'blocks: eve',            'blocks: eve',            'blocks: eve']),
  row('block {eve, off}',                       block,              blockOf('eve', false),                            ['ack',                   'forbidden',              'ack',                    'ack',                    'ack']),
  row('listBlocks after unblocking',            listBlocks,         () => ({ action: 'listBlocks' }),                 ['blocks: none',          'blocks: none',           'blocks: none',           'blocks: none',           'blocks: none']),
  ],
  // (1.2) Under the default `open` contact policy no conversation is a request: a member's accept is an
  // idempotent ack that changes nothing. Only a direct conversation can be one: any other id is
  // bad_request on its form alone, before anything is read or counted.
  acceptRequest: [
  row('acceptRequest {A–B}, alice’s direct',    acceptRequest,      () => ({ action: 'acceptRequest', conversationId: ids.alicebob }), ['ack', 'forbidden',             'forbidden',              'forbidden',              'forbidden']),
  row('acceptRequest {G}, not a direct one',    acceptRequest,      () => ({ action: 'acceptRequest', conversationId: G }), ['bad_request',    'bad_request',            'bad_request',            'bad_request',            'bad_request']),
  ],
} satisfies Record<RouteKey, readonly Row[] | NotAFrameRoute>;

const MATRIX: readonly Row[] = frameRouteEntries(MATRIX_ROWS).flatMap(([, rows]) => rows);

/** The frame with `{G}`, `{H}` and the messages named by placeholders replaced by their ids and seqs. */
function resolve(frame: Frame, userId: string): Frame {
  const own = ids.own[userId];
  const values = new Map<unknown, unknown>([
    [G, ids.group],
    [H, ids.leaveGroup],
    [OWN_TO_EDIT, own?.edit ?? 1],
    [OWN_TO_DELETE, own?.delete ?? 1],
    [BOBS, ids.bobsMessage],
  ]);
  return Object.fromEntries(
    Object.entries(frame).map(([key, value]) => [key, values.has(value) ? values.get(value) : value]),
  );
}

function expectOutcome(
  outcome: Outcome,
  answer: Frame | undefined,
  action: string,
  userId: string,
  sent: Frame,
): void {
  switch (outcome) {
    case 'nothing':
      expect(answer).toBeUndefined();
      return;
    case 'ack':
      expect(answer).toEqual({ type: 'ack', action });
      return;
    case 'ack with seq':
      expect(answer).toEqual({ type: 'ack', action, seq: sent.seq });
      return;
    case 'blocks: eve':
      expect(answer).toEqual({ type: 'blocks', userIds: ['eve'] });
      return;
    case 'blocks: none':
      expect(answer).toEqual({ type: 'blocks', userIds: [] });
      return;
    case 'ack with reportId':
      expect(answer).toEqual({
        type: 'ack',
        action,
        clientRequestId: sent.clientRequestId,
        reportId: expect.stringMatching(/^rp_[A-Za-z0-9_-]{32}$/),
      });
      return;
    case 'upload':
      expect(answer).toMatchObject({
        type: 'upload',
        clientRequestId: sent.clientRequestId,
        uploadId: expect.any(String),
        method: 'PUT',
        headers: { 'Content-Type': sent.contentType, 'Content-Length': String(sent.size) },
      });
      return;
    case 'ack in G':
    case 'ack in own DM with bob':
      expect(answer).toMatchObject({
        type: 'ack',
        action: 'sendMessage',
        clientMessageId: sent.clientMessageId,
        conversationId: outcome === 'ack in G' ? ids.group : directConversationId(userId, 'bob'),
        duplicate: false,
      });
      return;
    case 'conversation':
      expect(answer).toMatchObject({ type: 'conversation', kind: 'group' });
      expect(answer?.members).toContain(userId);
      return;
    case 'messages of G': {
      expect(answer).toMatchObject({ type: 'messages', conversationId: ids.group });
      const messages = answer?.messages as { seq: number }[];
      expect(messages.length).toBeGreaterThan(0);
      expect(messages[0]?.seq).toBe(1);
      return;
    }
    case 'list with G':
    case 'list without G': {
      expect(answer).toMatchObject({ type: 'conversations', nextCursor: null });
      const listed = (answer?.conversations as { conversationId: string; members: string[] }[]).map(
        (entry) => entry.conversationId,
      );
      if (outcome === 'list with G') expect(listed).toContain(ids.group);
      else expect(listed).not.toContain(ids.group);
      return;
    }
    case 'pong':
      expect(answer).toEqual({ type: 'pong' });
      return;
    default:
      expect(answer).toMatchObject({ type: 'error', code: outcome, action });
  }
}

beforeAll(async () => {
  api.on(DeleteConnectionCommand).resolves({});
  sns.onAnyCommand().resolves({});
  sns.on(CreatePlatformEndpointCommand).callsFake((input: { Token: string }) => ({
    EndpointArn: `arn:aws:sns:us-east-1:123456789012:endpoint/GCM/parley/${input.Token}`,
  }));

  // GIVEN everyone connected (the connect route stores the connection and the token's use)
  for (const userId of ['alice', 'bob', 'eve', 'dora', 'rick', 'sara']) {
    const response = await connect(connectEvent(who(userId)), lambdaContext);
    expect(response.statusCode).toBe(200);
  }
  // AND alice's group and her first message in it, and her direct conversation with bob
  const group = await call(
    createConversation,
    {
      action: 'createConversation',
      clientRequestId: 'matrix-group',
      members: ['bob', 'dora', 'rick', 'sara'],
      title: 'Matrix',
    },
    'alice',
  );
  ids.group = String(group?.conversationId);
  expect(await call(sendMessage, send({ conversationId: ids.group })(), 'alice')).toMatchObject({ seq: 1 });
  expect(await call(sendMessage, send({ to: 'bob' })(), 'alice')).toMatchObject({
    conversationId: ids.alicebob,
  });
  // bob answers: both wrote in A–B, so presence and receipts flow between them (protocol.md 1.2)
  expect(await call(sendMessage, send({ to: 'alice' })(), 'bob')).toMatchObject({ seq: 2 });
  // AND bob's message in G, and two of each of the others', which they change in the matrix
  const sendInG = async (userId: string) =>
    Number((await call(sendMessage, send({ conversationId: ids.group })(), userId))?.seq);
  ids.bobsMessage = await sendInG('bob');
  for (const userId of ['alice', 'dora', 'rick', 'sara']) {
    ids.own[userId] = { edit: await sendInG(userId), delete: await sendInG(userId) };
  }
  expect(Object.values(ids.own).flatMap(({ edit, delete: deleted }) => [edit, deleted])).toEqual([
    3, 4, 5, 6, 7, 8, 9, 10,
  ]);
  // AND H, the group of the same five that the matrix leaves
  const leaveGroup = await call(
    createConversation,
    {
      action: 'createConversation',
      clientRequestId: 'matrix-leave-group',
      members: ['bob', 'dora', 'rick', 'sara'],
      title: 'Leavers',
    },
    'alice',
  );
  ids.leaveGroup = String(leaveGroup?.conversationId);

  // WHEN an operator deactivates dora, revokes rick's token and all of sara's sessions
  await deactivateUser('dora', 'matrix-test');
  await revokeToken(who('rick').jti ?? '', 'matrix-test');
  await revokeSessions('sara', 'matrix-test');
}, 60_000);

describe('what the operations did to dora, rick and sara', () => {
  it('closed their connections and removed the items', async () => {
    const closed = api.commandCalls(DeleteConnectionCommand).map((c) => c.args[0].input.ConnectionId);
    expect(closed.sort()).toEqual(['dora-conn', 'rick-conn', 'sara-conn']);
    for (const userId of ['dora', 'rick', 'sara']) {
      const { Item } = await dynamo.send(
        new GetCommand({
          TableName: TABLE_NAME,
          Key: keys.connection(userId, `${userId}-conn`),
          ConsistentRead: true,
        }),
      );
      expect(Item).toBeUndefined();
    }
  });

  it('makes $connect refuse them from now on (the authorizer’s standing check)', async () => {
    const standing = (userId: string) =>
      standingOf({ userId, jti: who(userId).jti, issuedAt: TOKEN_ISSUED_AT });

    expect(await standing('alice')).toBe('active');
    expect(await standing('eve')).toBe('active');
    expect(await standing('dora')).toBe('deactivated');
    expect(await standing('rick')).toBe('token_revoked');
    expect(await standing('sara')).toBe('sessions_revoked');
  });
});

describe('authorization matrix: action × caller', () => {
  const cells = MATRIX.flatMap((row) =>
    CALLER_KINDS.map((kind) => [row.action, kind, row.outcomes[kind], row] as const),
  );

  it.each(cells)('%s by %s → %s', async (_action, kind, outcome, row) => {
    const userId = CALLERS[kind];
    const frame = resolve(row.frame(), userId);

    const answer = await call(row.route, frame, userId);

    expectOutcome(outcome, answer, String(frame.action), userId, frame);
  });
});

describe('a non-member learns nothing', () => {
  const eve = 'eve';
  const NEVER = () => `grp_${randomUUID()}`;
  const NEVER_TALKED = directConversationId('bob', 'dora');

  it.each([
    [
      'sendMessage',
      sendMessage,
      (id: string) => ({
        action: 'sendMessage',
        conversationId: id,
        clientMessageId: 'eve-probe',
        content: 'hi',
      }),
    ],
    ['typing', typing, (id: string) => ({ action: 'typing', conversationId: id, state: 'start' })],
    ['markRead', markRead, (id: string) => ({ action: 'markRead', conversationId: id, seq: 1 })],
    ['sync', sync, (id: string) => ({ action: 'sync', conversationId: id, afterSeq: 0 })],
    [
      'editMessage',
      editMessage,
      (id: string) => ({ action: 'editMessage', conversationId: id, seq: 1, content: 'hi' }),
    ],
    [
      'deleteMessage',
      deleteMessage,
      (id: string) => ({ action: 'deleteMessage', conversationId: id, seq: 1 }),
    ],
    [
      'react',
      react,
      (id: string) => ({ action: 'react', conversationId: id, seq: 1, emoji: '👍', on: true }),
    ],
    [
      'leaveConversation',
      leaveConversation,
      (id: string) => ({ action: 'leaveConversation', conversationId: id }),
    ],
    [
      'report',
      report,
      (id: string) => ({
        action: 'report',
        clientRequestId: 'eve-probe',
        conversationId: id,
        reason: 'spam',
      }),
    ],
  ] as const)('%s: the same forbidden for G, for A–B, and for conversations that do not exist', async (action, route, frame) => {
    const answers = [];
    for (const id of [ids.group, ids.alicebob, NEVER_TALKED, NEVER(), `dm_${randomUUID()}`]) {
      answers.push(await call(route as Route, frame(id), eve));
    }

    expect(answers[0]).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'not a member of this conversation',
      action,
      ...(action === 'sendMessage' ? { clientMessageId: 'eve-probe' } : {}),
      ...(action === 'report' ? { clientRequestId: 'eve-probe' } : {}),
    });
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });

  // acceptRequest is not in the list above: a group id (G's, or one that never existed) is bad_request
  // on the id's form alone, which tells nothing; direct ones get the one forbidden.
  it('acceptRequest: the same forbidden for A–B and for direct conversations that do not exist, the same bad_request for any group id', async () => {
    const ask = (id: string) => call(acceptRequest, { action: 'acceptRequest', conversationId: id }, eve);
    const direct = [];
    for (const id of [ids.alicebob, NEVER_TALKED, `dm_${randomUUID()}`]) direct.push(await ask(id));
    const groups = [];
    for (const id of [ids.group, NEVER()]) groups.push(await ask(id));

    expect(direct[0]).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'not a member of this conversation',
      action: 'acceptRequest',
    });
    for (const answer of direct) expect(answer).toEqual(direct[0]);
    expect(groups[0]).toMatchObject({ type: 'error', code: 'bad_request', action: 'acceptRequest' });
    for (const answer of groups) expect(answer).toEqual(groups[0]);
  });

  it('sees only her own conversations in her list', async () => {
    const list = await call(sync, { action: 'sync', limit: 100 }, eve);

    const entries = list?.conversations as { conversationId: string; members: string[] }[];
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(entry.members).toContain(eve);
    const listed = entries.map((entry) => entry.conversationId);
    expect(listed).not.toContain(ids.group);
    expect(listed).not.toContain(ids.alicebob);
  });

  it('receives nothing of G or A–B when their stored events are delivered, while bob does', async () => {
    // GIVEN what the table's stream carried for G and A–B: every message, the group's creation, alice's
    // read, and alice's connection opening (presence to her direct contacts)
    api.resetHistory();
    let sequence = 7_000_000_000;
    const next = () => {
      sequence += 1;
      return String(sequence);
    };
    const records: DynamoDBRecord[] = [];
    const meta = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: keys.conversation(ids.group), ConsistentRead: true }),
    );
    records.push(conversationInsert(meta.Item ?? {}, next()));
    for (const conversationId of [ids.group, ids.alicebob]) {
      for (const item of await storedMessages(conversationId)) records.push(messageInsert(item, next()));
    }
    const aliceInG = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: keys.member(ids.group, 'alice'), ConsistentRead: true }),
    );
    records.push(readModify(aliceInG.Item ?? {}, { readSeq: 0 }, next()));
    records.push(connectionOpened('alice', 'alice-conn', next()));

    // WHEN the delivery Lambda runs on them
    expect(await delivery(streamEvent(...records))).toEqual({ batchItemFailures: [] });

    // THEN bob's connection got G's and A–B's messages, the group, alice's read and her presence, and
    // (he wrote in G too) the `delivered` receipt of his message
    const frames = postedFrames();
    const toBob = frames.filter(({ connectionId }) => connectionId === 'bob-conn').map(({ frame }) => frame);
    expect(new Set(toBob.map((frame) => frame.type))).toEqual(
      new Set(['message', 'conversation', 'read', 'presence', 'delivered']),
    );
    expect(toBob.filter((frame) => frame.conversationId === ids.group).length).toBeGreaterThan(0);
    expect(toBob.filter((frame) => frame.conversationId === ids.alicebob).length).toBeGreaterThan(0);
    // AND eve's connection, open all along, got nothing at all
    expect(frames.filter(({ connectionId }) => connectionId === 'eve-conn')).toEqual([]);
  });

  it('never got typing, reads or messages of G or A–B posted by a handler during the matrix', () => {
    // The management API's whole history of this file (reset only before the delivery run above);
    // the typing of the matrix did reach bob, so the record is not empty.
    expect(
      everPosted
        .filter(({ connectionId, frame }) => connectionId === 'bob-conn' && frame.type === 'typing')
        .map(({ frame }) => frame.userId)
        .sort(),
    ).toEqual(['alice', 'dora', 'rick', 'sara']);
    const leaked = everPosted.filter(
      ({ connectionId, frame }) =>
        connectionId === 'eve-conn' &&
        (frame.conversationId === ids.group ||
          frame.conversationId === ids.alicebob ||
          frame.userId === 'alice'),
    );
    expect(leaked).toEqual([]);
  });
});

// ---- stream and management API plumbing ----

const decoder = new TextDecoder();
/** Every frame posted to a connection since the last reset of the management API's history. */
function postedFrames(): { connectionId: string; frame: Frame }[] {
  return api.commandCalls(PostToConnectionCommand).map((c) => ({
    connectionId: String(c.args[0].input.ConnectionId),
    frame: JSON.parse(decoder.decode(c.args[0].input.Data as Uint8Array)) as Frame,
  }));
}

/** Every frame ever posted in this file, kept across resets. */
const everPosted: { connectionId: string; frame: Frame }[] = [];
api.on(PostToConnectionCommand).callsFake((input: { ConnectionId: string; Data: Uint8Array }) => {
  everPosted.push({
    connectionId: input.ConnectionId,
    frame: JSON.parse(decoder.decode(input.Data)) as Frame,
  });
  return {};
});

/** The stream record of a connection item put by `$connect` (presence: `online`). */
function connectionOpened(userId: string, connectionId: string, sequenceNumber: string): DynamoDBRecord {
  const key = keys.connection(userId, connectionId);
  const image = marshall({
    ...key,
    type: 'connection',
    userId,
    connectionId,
    connectedAt: new Date().toISOString(),
  });
  return {
    eventID: `presence-${sequenceNumber}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: marshall(key) as never,
      NewImage: image as never,
      SequenceNumber: sequenceNumber,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

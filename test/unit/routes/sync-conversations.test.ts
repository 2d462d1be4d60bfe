/**
 * sync without conversationId (the conversation list): the caller's entries in the `inbox` index (their
 * member items: partition `memberOf`, sort key `listAt`, the change's 10-minute bucket), newest change
 * first, each summary made from its entry alone (a group's receipts from one Query of its member items),
 * direct conversations the caller hid left out, pages under 128 KiB, continued by a cursor that serves
 * first whatever moved to the front since the previous page, and refused (bad_request, nothing read)
 * when it is another user's or not a cursor at all. Nothing is ever written.
 */
import {
  GetCommand,
  type GetCommandInput,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { INBOX_INDEX, TABLE as TABLE_DEFINITION } from '../../../definitions/table.ts';
import { MAX_FRAME_BYTES } from '../../../functions/domain/frame-size.ts';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/sync.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import { ddb, expectNothingWritten, frameOf, sentToDynamo, TABLE } from './route-mocks.ts';

type Item = Record<string, unknown>;

const NOW = new Date('2026-11-23T10:30:05.200Z');
const NOW_ISO = NOW.toISOString();
/** 10 minutes: the width of a `listAt` bucket. */
const BUCKET_MS = 10 * 60_000;
/** DynamoDB stops a Query after 1 MB of items read. */
const QUERY_PAGE_BYTES = 1024 * 1024;

/** The bucket of a change at `at`: the index key its entry sits under. */
const bucketOf = (at: string): string => {
  const time = Date.parse(at);
  return new Date(time - (time % BUCKET_MS)).toISOString();
};

// ---------------------------------------------------------------------------------------------------
// A small in-memory table behind the mock, and its `inbox` index as DynamoDB would answer a Query of it.
// ---------------------------------------------------------------------------------------------------

/** Items by partition, then by sort key. */
const table = new Map<string, Map<string, Item>>();

function put(item: Item): void {
  const partition = table.get(String(item.PK)) ?? new Map<string, Item>();
  partition.set(String(item.SK), item);
  table.set(String(item.PK), partition);
}

const itemAt = (pk: string, sk: string): Item => {
  const item = table.get(pk)?.get(sk);
  if (item === undefined) throw new Error(`no item ${pk} / ${sk}`);
  return item;
};

const allItems = (): Item[] => [...table.values()].flatMap((partition) => [...partition.values()]);

const inboxDefinition = TABLE_DEFINITION.globalIndexes.find((index) => index.indexName === INBOX_INDEX);
/** What the index holds of an item: the table's and the index's keys, and the attributes it includes. */
const INBOX_ATTRIBUTES = new Set<string>([
  'PK',
  'SK',
  inboxDefinition?.partitionKey.name ?? '',
  inboxDefinition?.sortKey?.name ?? '',
  ...(inboxDefinition?.include ?? []),
]);
const projected = (item: Item): Item =>
  Object.fromEntries(Object.entries(item).filter(([name]) => INBOX_ATTRIBUTES.has(name)));

/** The index's order for a Query with ScanIndexForward false: `listAt` descending; ties in no useful order. */
const indexOrder = (a: Item, b: Item): number => {
  if (a.listAt !== b.listAt) return String(a.listAt) > String(b.listAt) ? -1 : 1;
  return String(a.PK) < String(b.PK) ? -1 : String(a.PK) > String(b.PK) ? 1 : 0;
};

const SORT_KEY_TESTS: Record<string, (value: string, bound: string) => boolean> = {
  '<': (value, bound) => value < bound,
  '<=': (value, bound) => value <= bound,
  '=': (value, bound) => value === bound,
  '>=': (value, bound) => value >= bound,
  '>': (value, bound) => value > bound,
};

const INBOX_CONDITION = /^memberOf = :user(?: AND listAt (<=|<|=|>=|>) (:\w+))?$/;

/**
 * A Query of the `inbox` index: the key condition, Limit, ExclusiveStartKey and the 1 MB page as DynamoDB
 * applies them, and LastEvaluatedKey whenever it stopped early (at Limit, even with nothing after it).
 * Anything the index could not answer fails the request.
 */
function queryInbox(input: QueryCommandInput): { Items: Item[]; LastEvaluatedKey?: Item } {
  const match = INBOX_CONDITION.exec(input.KeyConditionExpression ?? '');
  if (input.TableName !== TABLE || match === null) {
    throw new Error(`not a Query the inbox index answers: ${JSON.stringify(input)}`);
  }
  if (input.ScanIndexForward !== false) throw new Error('the list reads its index newest first');
  const values = input.ExpressionAttributeValues ?? {};
  const [, operator, placeholder] = match;
  const used = [':user', ...(placeholder === undefined ? [] : [placeholder])];
  if (Object.keys(values).sort().join() !== used.sort().join()) {
    throw new Error(`ExpressionAttributeValues do not match the key condition: ${JSON.stringify(values)}`);
  }
  const test = operator === undefined ? undefined : SORT_KEY_TESTS[operator];
  const bound = placeholder === undefined ? '' : String(values[placeholder]);
  const matching = allItems()
    .filter((item) => typeof item.memberOf === 'string' && typeof item.listAt === 'string')
    .filter((item) => item.memberOf === values[':user'])
    .filter((item) => test === undefined || test(String(item.listAt), bound))
    .sort(indexOrder);
  const start = input.ExclusiveStartKey;
  const after =
    start === undefined ? matching : matching.filter((item) => indexOrder(item, start as Item) > 0);
  const items: Item[] = [];
  let bytes = 0;
  for (const item of after) {
    const view = projected(item);
    const size = Buffer.byteLength(JSON.stringify(view));
    if (items.length > 0 && bytes + size > QUERY_PAGE_BYTES) break;
    if (input.Limit !== undefined && items.length === input.Limit) break;
    items.push(view);
    bytes += size;
  }
  const last = items.at(-1);
  const stopped = items.length < after.length || (input.Limit !== undefined && items.length === input.Limit);
  return {
    Items: items,
    ...(stopped &&
      last !== undefined && {
        LastEvaluatedKey: { PK: last.PK, SK: last.SK, memberOf: last.memberOf, listAt: last.listAt },
      }),
  };
}

/** A Query of one conversation's member items (a group's receipts). */
function queryMembers(input: QueryCommandInput): { Items: Item[] } {
  const values = input.ExpressionAttributeValues ?? {};
  if (input.KeyConditionExpression !== 'PK = :pk AND begins_with(SK, :member)') {
    throw new Error(`unexpected Query: ${JSON.stringify(input)}`);
  }
  const partition = table.get(String(values[':pk'])) ?? new Map<string, Item>();
  return {
    Items: [...partition.values()].filter((item) => String(item.SK).startsWith(String(values[':member']))),
  };
}

// ---------------------------------------------------------------------------------------------------
// Entries: member items with what the list shows (adapters/list-entries.ts).
// ---------------------------------------------------------------------------------------------------

interface EntryFields {
  changedAt: string;
  lastSeq?: number;
  readSeq?: number;
  [name: string]: unknown;
}

/** `userId`'s member item of `conversationId`, with its list entry, in their `inbox` partition. */
function givenEntry(conversationId: string, fields: EntryFields, userId = 'alice'): Item {
  const item: Item = {
    PK: `CONV#${conversationId}`,
    SK: `MEMBER#${userId}`,
    type: 'member',
    conversationId,
    userId,
    joinedAt: '2026-11-01T08:00:00.000Z',
    changedBy: 'delivery',
    readSeq: 0,
    lastSeq: 0,
    memberOf: userId,
    listAt: bucketOf(fields.changedAt),
    ...fields,
  };
  if (Number(item.lastSeq) > Number(item.readSeq)) item.unreadOwner = userId;
  put(item);
  return item;
}

/** alice's entry of her direct conversation with `peer`, who has read and received nothing by default. */
function givenDirect(peer: string, fields: EntryFields): string {
  const conversationId = directConversationId('alice', peer);
  givenEntry(conversationId, {
    kind: 'direct',
    members: ['alice', peer].sort(),
    title: null,
    peer,
    peerReadSeq: 0,
    peerDeliveredSeq: 0,
    ...fields,
  });
  return conversationId;
}

/** bob's entry of his direct conversation with zoe: in his `inbox` partition. */
function givenBobsEntry(changedAt: string): void {
  givenEntry(
    directConversationId('bob', 'zoe'),
    { kind: 'direct', members: ['bob', 'zoe'], title: null, peer: 'zoe', changedAt, lastSeq: 3 },
    'bob',
  );
}

/** A message as an entry keeps it for `lastMessage` (no originConnectionId). */
const storedMessage = (conversationId: string, seq: number, senderId: string, fields: Item = {}) => ({
  conversationId,
  seq,
  messageId: `m-${seq}`,
  senderId,
  content: `message ${seq}`,
  createdAt: '2026-11-23T10:00:00.000Z',
  clientMessageId: `c-${seq}`,
  ...fields,
});

/** The same message as a page shows it. */
const messageView = (message: ReturnType<typeof storedMessage>, fields: Item = {}) => ({
  conversationId: message.conversationId,
  messageId: message.messageId,
  seq: message.seq,
  senderId: message.senderId,
  content: message.content,
  createdAt: message.createdAt,
  clientMessageId: message.clientMessageId,
  version: message.seq * 1_000_000,
  ...fields,
});

/** `count` direct entries of alice's, entry i changed at `changedAt(i)`, each with one unread message. */
function givenDirects(count: number, changedAt: (i: number) => string): string[] {
  return Array.from({ length: count }, (_, i) =>
    givenDirect(`pal${String(i).padStart(3, '0')}`, { changedAt: changedAt(i), lastSeq: 1 }),
  );
}

/** The list's order of alice's entries as they stand: newest change first, ties by id, larger first. */
function listOrder(): string[] {
  return allItems()
    .filter((item) => item.memberOf === 'alice' && item.SK === 'MEMBER#alice')
    .sort((a, b) =>
      a.changedAt !== b.changedAt
        ? String(a.changedAt) > String(b.changedAt)
          ? -1
          : 1
        : String(a.conversationId) > String(b.conversationId)
          ? -1
          : 1,
    )
    .map((item) => String(item.conversationId));
}

// ---------------------------------------------------------------------------------------------------

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  table.clear();
  ddb.on(QueryCommand).callsFake((input: QueryCommandInput) =>
    input.IndexName === INBOX_INDEX
      ? queryInbox(input)
      : String(input.ExpressionAttributeValues?.[':pk']).startsWith('BLOCKEDBY#')
        ? {
            Items:
              blockers.get(String(input.ExpressionAttributeValues?.[':pk']).slice('BLOCKEDBY#'.length)) ?? [],
          }
        : queryMembers(input),
  );
  // (1.2) Whom a user blocks: their state item's set.
  ddb.on(GetCommand).callsFake((input: GetCommandInput) => {
    const blocked = blocks.get(String(input.Key?.PK).slice('USER#'.length));
    return { Item: blocked === undefined ? undefined : { blocks: new Set(blocked) } };
  });
  blocks.clear();
  blockers.clear();
});

/** (1.2) user → the users they block. */
const blocks = new Map<string, string[]>();
/** (1.2) user → the BLOCKEDBY items of who blocks them. */
const blockers = new Map<string, Item[]>();

afterEach(() => {
  vi.useRealTimers();
  ddb.reset();
});

const list = async (fields: Record<string, unknown> = {}, userId = 'alice') =>
  frameOf(await handler(messageEvent({ action: 'sync', ...fields }, { userId }), lambdaContext));

const idsOf = (frame: Record<string, unknown>): string[] =>
  (frame.conversations as { conversationId: string }[]).map((entry) => entry.conversationId);

/** What a cursor holds (opaque to clients): base64url JSON of {u, t, c, r}. */
const cursorBody = (cursor: unknown): Record<string, unknown> =>
  JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8')) as Record<string, unknown>;
const cursorOf = (body: unknown): string => Buffer.from(JSON.stringify(body)).toString('base64url');

/** The inbox Query a page starts with: from the newest bucket, or from the cursor's (`<=`). */
const inboxQuery = (limit: number, from?: string) => ({
  TableName: TABLE,
  IndexName: INBOX_INDEX,
  KeyConditionExpression: `memberOf = :user${from === undefined ? '' : ' AND listAt <= :from'}`,
  ExpressionAttributeValues: { ':user': 'alice', ...(from !== undefined && { ':from': from }) },
  ScanIndexForward: false,
  Limit: limit,
});

const inboxQueries = () =>
  ddb
    .commandCalls(QueryCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.IndexName === INBOX_INDEX);

describe('the conversation list', () => {
  it('answers one page, newest change first, each summary from its entry', async () => {
    // GIVEN a group where carol's edited message is the newest and a reaction came after it
    const GROUP = 'grp_lunch';
    const groupMessage = storedMessage(GROUP, 41, 'carol', {
      content: 'Noon at the usual place?',
      editedAt: '2026-11-23T10:29:50.000Z',
      version: 41_000_002,
      reactions: { '👍': ['bob'] },
    });
    givenEntry(GROUP, {
      kind: 'group',
      members: ['alice', 'bob', 'carol', 'dave', 'erin'],
      title: 'Lunch crew',
      changedAt: '2026-11-23T10:29:58.000Z',
      lastSeq: 41,
      readSeq: 39,
      lastMessage: groupMessage,
      changeVersion: 41_000_003,
    });
    // The others' member items: their cursors are the receipts. Erin's is gone (she just left; alice's
    // entry does not show it yet); frank's is still there though alice's entry shows him gone.
    givenEntry(GROUP, { changedAt: '2026-11-23T10:29:58.000Z', readSeq: 41, deliveredSeq: 41 }, 'bob');
    givenEntry(GROUP, { changedAt: '2026-11-23T10:29:58.000Z', readSeq: 41, lastSeq: 40 }, 'carol');
    givenEntry(GROUP, { changedAt: '2026-11-23T10:29:58.000Z', readSeq: 12, deliveredSeq: 40 }, 'dave');
    givenEntry(GROUP, { changedAt: '2026-11-23T09:00:00.000Z', readSeq: 30, deliveredSeq: 30 }, 'frank');
    // bob online (the last time he went offline is history); alice sent the newest message herself
    const ownMessage = storedMessage(directConversationId('alice', 'bob'), 8, 'alice');
    const withBob = givenDirect('bob', {
      changedAt: '2026-11-23T10:21:30.000Z',
      lastSeq: 7,
      readSeq: 8,
      lastMessage: ownMessage,
      peerReadSeq: 7,
      peerDeliveredSeq: 8,
      peerStatus: 'online',
      peerLastSeen: '2026-11-22T23:10:00.000Z',
      peerPresenceAt: '2026-11-23T08:00:00.000Z',
      // (1.2) both wrote in it: receipts and presence flow (consent)
      sent: true,
      peerSent: true,
    });
    // carol offline since 09:58; an older message of hers was edited (changeVersion below 3 × 10⁶)
    const carolsMessage = storedMessage(directConversationId('alice', 'carol'), 3, 'carol');
    const withCarol = givenDirect('carol', {
      changedAt: '2026-11-23T10:24:10.000Z',
      lastSeq: 3,
      readSeq: 1,
      lastMessage: carolsMessage,
      changeVersion: 2_000_001,
      peerReadSeq: 3,
      peerDeliveredSeq: 3,
      peerStatus: 'offline',
      peerLastSeen: '2026-11-23T09:58:12.000Z',
      sent: true,
      peerSent: true,
    });
    // dave: created, no message yet, no presence recorded on the entry; (1.2) no consent either: his
    // receipts and presence are not shown
    const withDave = givenDirect('dave', { changedAt: '2026-11-23T09:40:00.000Z' });
    // bob's entries (his member items) are his list, not alice's
    givenBobsEntry('2026-11-23T10:29:59.000Z');

    // WHEN
    const frame = await list();

    // THEN
    expect(frame).toEqual({
      type: 'conversations',
      conversations: [
        {
          conversationId: GROUP,
          kind: 'group',
          members: ['alice', 'bob', 'carol', 'dave', 'erin'],
          title: 'Lunch crew',
          lastSeq: 41,
          version: 41_000_003,
          readSeq: 39,
          unread: 2,
          lastMessage: messageView(groupMessage, {
            version: 41_000_002,
            editedAt: '2026-11-23T10:29:50.000Z',
            reactions: { '👍': ['bob'] },
          }),
          receipts: [
            { userId: 'bob', readSeq: 41, deliveredSeq: 41 },
            { userId: 'carol', readSeq: 41, deliveredSeq: 0 },
            { userId: 'dave', readSeq: 12, deliveredSeq: 40 },
          ],
        },
        {
          conversationId: withCarol,
          kind: 'direct',
          members: ['alice', 'carol'],
          title: null,
          lastSeq: 3,
          version: 3_000_000,
          readSeq: 1,
          unread: 2,
          lastMessage: messageView(carolsMessage),
          receipts: [{ userId: 'carol', readSeq: 3, deliveredSeq: 3 }],
          presence: { status: 'offline', lastSeen: '2026-11-23T09:58:12.000Z' },
        },
        {
          conversationId: withBob,
          kind: 'direct',
          members: ['alice', 'bob'],
          title: null,
          // alice's own message is the newest: it counts for lastSeq, never as unread
          lastSeq: 8,
          version: 8_000_000,
          readSeq: 8,
          unread: 0,
          lastMessage: messageView(ownMessage),
          receipts: [{ userId: 'bob', readSeq: 7, deliveredSeq: 8 }],
          presence: { status: 'online', lastSeen: null },
        },
        {
          conversationId: withDave,
          kind: 'direct',
          members: ['alice', 'dave'],
          title: null,
          lastSeq: 0,
          version: 0,
          readSeq: 0,
          unread: 0,
          lastMessage: null,
          receipts: [],
        },
      ],
      nextCursor: null,
    });
    // One Query of alice's index partition; (1.2) whom she blocks and who blocks her, for the group's
    // receipts; the group's receipts one Query of its member items; the direct entries need nothing more.
    expect(sentToDynamo()).toEqual([
      ['QueryCommand', inboxQuery(50)],
      [
        'GetCommand',
        {
          TableName: TABLE,
          Key: { PK: 'USER#alice', SK: 'STATE' },
          ProjectionExpression: 'blocks',
          ConsistentRead: true,
        },
      ],
      [
        'QueryCommand',
        {
          TableName: TABLE,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': 'BLOCKEDBY#alice' },
          ProjectionExpression: 'SK',
          ConsistentRead: true,
          ExclusiveStartKey: undefined,
        },
      ],
      [
        'QueryCommand',
        {
          TableName: TABLE,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :member)',
          ExpressionAttributeValues: { ':pk': `CONV#${GROUP}`, ':member': 'MEMBER#' },
          ConsistentRead: false,
        },
      ],
    ]);
    expectNothingWritten();
  });

  it('answers an empty list for a user in no conversation', async () => {
    givenBobsEntry('2026-11-23T10:00:00.000Z');

    expect(await list()).toEqual({ type: 'conversations', conversations: [], nextCursor: null });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expectNothingWritten();
  });

  describe('a direct conversation the caller hid (leaveConversation)', () => {
    /** Newest first: shown, hidden, back (a message after the hide), hidden, shown. */
    function givenSomeHidden(): Record<string, string> {
      return {
        shown: givenDirect('amy', { changedAt: '2026-11-23T10:20:00.000Z', lastSeq: 2 }),
        hidden: givenDirect('ben', {
          changedAt: '2026-11-23T10:10:00.000Z',
          lastSeq: 5,
          readSeq: 5,
          hiddenUntilSeq: 5,
          lastMessage: storedMessage(directConversationId('alice', 'ben'), 5, 'ben'),
        }),
        back: givenDirect('cal', {
          changedAt: '2026-11-23T10:00:00.000Z',
          lastSeq: 6,
          readSeq: 5,
          hiddenUntilSeq: 5,
          lastMessage: storedMessage(directConversationId('alice', 'cal'), 6, 'cal'),
        }),
        // hidden at 4, and alice's own message 3 is the newest: still nothing after the hide
        hiddenToo: givenDirect('dan', {
          changedAt: '2026-11-23T09:50:00.000Z',
          lastSeq: 2,
          readSeq: 4,
          hiddenUntilSeq: 4,
          lastMessage: storedMessage(directConversationId('alice', 'dan'), 3, 'alice'),
        }),
        last: givenDirect('eve', { changedAt: '2026-11-23T09:40:00.000Z' }),
      };
    }

    it('is left out until a message comes after the seq it was hidden at', async () => {
      const entries = givenSomeHidden();

      const frame = await list();

      expect(idsOf(frame)).toEqual([entries.shown, entries.back, entries.last]);
      expect(frame.conversations).toContainEqual(
        expect.objectContaining({ conversationId: entries.back, lastSeq: 6, unread: 1 }),
      );
      expect(frame.nextCursor).toBeNull();
    });

    it('is passed over like a served entry: the cursor moves past it, even on a page that shows nothing', async () => {
      const entries = givenSomeHidden();

      const pages: string[][] = [];
      const positions: unknown[] = [];
      let frame = await list({ limit: 1 });
      for (;;) {
        pages.push(idsOf(frame));
        if (frame.nextCursor === null) break;
        positions.push(cursorBody(frame.nextCursor).c);
        expect(pages.length).toBeLessThan(10);
        frame = await list({ cursor: frame.nextCursor, limit: 1 });
      }

      // The last entry filled its page's Limit, and a Query stopped by its Limit cannot tell that
      // nothing comes after: one more page, empty, ends the list.
      expect(pages).toEqual([[entries.shown], [], [entries.back], [], [entries.last], []]);
      expect(positions).toEqual([
        entries.shown,
        entries.hidden,
        entries.back,
        entries.hiddenToo,
        entries.last,
      ]);
    });
  });

  describe('paging', () => {
    /**
     * 32 entries, 5 to a bucket (2 minutes apart from a bucket's start): buckets hold entries 0–4,
     * 5–9, …, 30–31. Entries 21 and 22 changed at the same millisecond: the first page ends between
     * them.
     */
    const BASE = Date.parse('2026-11-23T04:00:00.000Z');
    const changedAt = (i: number): string =>
      new Date(BASE + (i === 21 ? 22 : i) * 120_000 + 1_000).toISOString();
    const bucket = (first: number): string => new Date(BASE + first * 120_000).toISOString();

    it('serves the whole list in order, each entry once, reading each bucket whole', async () => {
      givenDirects(32, changedAt);
      const order = listOrder();

      // WHEN the first page is read
      const first = await list({ limit: 10 });

      // THEN the Query stopped at its Limit inside bucket 20–24, and the rest of it was read too
      expect(idsOf(first)).toEqual(order.slice(0, 10));
      expect(sentToDynamo()).toEqual([
        ['QueryCommand', inboxQuery(10)],
        [
          'QueryCommand',
          {
            TableName: TABLE,
            IndexName: INBOX_INDEX,
            KeyConditionExpression: 'memberOf = :user AND listAt = :bucket',
            ExpressionAttributeValues: { ':user': 'alice', ':bucket': bucket(20) },
            ScanIndexForward: false,
            ExclusiveStartKey: expect.objectContaining({ memberOf: 'alice', listAt: bucket(20) }),
          },
        ],
      ]);
      // The cursor: the last entry served (one of the two tied ones), and when the page was read.
      expect(cursorBody(first.nextCursor)).toEqual({
        u: expect.any(String),
        t: changedAt(22),
        c: order[9],
        r: NOW_ISO,
      });

      // WHEN the second page is read
      ddb.resetHistory();
      const second = await list({ cursor: first.nextCursor, limit: 10 });

      // THEN it starts right after the cursor: the other tied entry first, nothing of the first page again
      expect(idsOf(second)).toEqual(order.slice(10, 20));
      // From the cursor's bucket down: what the cursor's bucket holds at or before it is skipped.
      expect(inboxQueries()[0]).toEqual({
        TableName: TABLE,
        IndexName: INBOX_INDEX,
        KeyConditionExpression: 'memberOf = :user AND listAt >= :since',
        ExpressionAttributeValues: { ':user': 'alice', ':since': bucketOf(NOW_ISO) },
        ScanIndexForward: false,
      });
      expect(inboxQueries()[1]).toEqual(inboxQuery(10, bucket(20)));
      // Too few after the cursor in what that read: older buckets, below the last one read.
      expect(inboxQueries()).toContainEqual({
        TableName: TABLE,
        IndexName: INBOX_INDEX,
        KeyConditionExpression: 'memberOf = :user AND listAt < :from',
        ExpressionAttributeValues: { ':user': 'alice', ':from': bucket(15) },
        ScanIndexForward: false,
        Limit: 3,
      });

      // WHEN the rest is read
      const seen = [...idsOf(first), ...idsOf(second)];
      let frame = second;
      while (frame.nextCursor !== null) {
        expect(seen.length).toBeLessThan(40);
        frame = await list({ cursor: frame.nextCursor, limit: 10 });
        seen.push(...idsOf(frame));
      }

      // THEN every entry came once, in the list's order
      expect(seen).toEqual(order);
      expect(seen).toHaveLength(32);
      expectNothingWritten();
    });

    it('serves what moved to the front after the previous page first, then goes on from the cursor', async () => {
      // GIVEN 12 entries; the newest (11) changed a moment before the first page was read
      const ids = givenDirects(12, (i) =>
        i === 11
          ? '2026-11-23T10:30:01.000Z'
          : new Date(Date.parse('2026-11-23T09:00:00.000Z') + i * 240_000).toISOString(),
      );
      const id = (i: number) => ids[i] as string;
      const first = await list({ limit: 5 });
      expect(idsOf(first)).toEqual([11, 10, 9, 8, 7].map(id));

      // WHEN, after the first page, a message arrives in 9 (served already) and alice reads 3 (not yet)
      vi.setSystemTime(new Date('2026-11-23T10:31:00.000Z'));
      const nine = itemAt(`CONV#${id(9)}`, 'MEMBER#alice');
      put({ ...nine, lastSeq: 2, changedAt: '2026-11-23T10:30:30.000Z', listAt: '2026-11-23T10:30:00.000Z' });
      const three = itemAt(`CONV#${id(3)}`, 'MEMBER#alice');
      put({
        ...three,
        readSeq: 1,
        changedAt: '2026-11-23T10:30:15.000Z',
        listAt: '2026-11-23T10:30:00.000Z',
      });
      ddb.resetHistory();
      const second = await list({ cursor: first.nextCursor, limit: 5 });

      // THEN the moved ones come first, oldest change first (so that a page too small for all of them
      // can leave the rest to the next), 9 with its new state; then 6, 5, 4 from the cursor
      expect(idsOf(second)).toEqual([3, 9, 6, 5, 4].map(id));
      expect((second.conversations as Item[])[0]).toMatchObject({ readSeq: 1, unread: 0 });
      expect((second.conversations as Item[])[1]).toMatchObject({ lastSeq: 2, unread: 2 });
      // What changed since the first page was read: the buckets from that moment's on, 11 among them
      // but changed before that read.
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        IndexName: INBOX_INDEX,
        KeyConditionExpression: 'memberOf = :user AND listAt >= :since',
        ExpressionAttributeValues: { ':user': 'alice', ':since': '2026-11-23T10:30:00.000Z' },
      });

      // AND the next page goes on from 4, without 3 again
      const third = await list({ cursor: second.nextCursor, limit: 5 });
      expect(idsOf(third)).toEqual([2, 1, 0].map(id));
      expect(third.nextCursor).toBeNull();
    });

    it('loses no moved entry when more moved than a page holds: the next page serves the rest', async () => {
      // GIVEN 12 entries paged 3 at a time
      const ids = givenDirects(12, (i) =>
        new Date(Date.parse('2026-11-23T09:00:00.000Z') + i * 240_000).toISOString(),
      );
      const id = (i: number) => ids[i] as string;
      const first = await list({ limit: 3 });
      expect(idsOf(first)).toEqual([11, 10, 9].map(id));

      // WHEN 6 of them change after the first page, each a second after the other
      vi.setSystemTime(new Date('2026-11-23T10:31:00.000Z'));
      const changed = [0, 2, 4, 6, 8, 10];
      changed.forEach((i, n) => {
        const item = itemAt(`CONV#${id(i)}`, 'MEMBER#alice');
        put({
          ...item,
          readSeq: 1,
          changedAt: `2026-11-23T10:30:4${n}.000Z`,
          listAt: '2026-11-23T10:30:00.000Z',
        });
      });
      const seen: string[] = [];
      let cursor = first.nextCursor as string | null;
      while (cursor !== null) {
        const page = await list({ cursor, limit: 3 });
        seen.push(...idsOf(page));
        cursor = page.nextCursor as string | null;
      }

      // THEN every changed entry comes, oldest change first, and every entry not served yet comes too
      expect(seen.slice(0, 6)).toEqual(changed.map(id));
      expect(new Set(seen)).toEqual(new Set([...changed, 8, 7, 5, 3, 1].map(id)));
    });

    it('continues a cursor however old: there is nothing to expire', async () => {
      const ids = givenDirects(3, (i) =>
        new Date(Date.parse('2026-11-23T09:00:00.000Z') + i * 60_000).toISOString(),
      );
      const first = await list({ limit: 2 });

      vi.setSystemTime(new Date('2026-12-09T10:00:00.000Z'));
      const second = await list({ cursor: first.nextCursor, limit: 2 });

      expect(idsOf(second)).toEqual([ids[0]]);
      expect(second.nextCursor).toBeNull();
    });
  });

  it('shrinks a page of maximal entries below 128 KiB, as full as fits, and continues where it stopped', async () => {
    // GIVEN 60 groups of 100 members with 64-character ids, a 200-emoji title, and a newest message of
    // 4,000 four-byte characters: 99 receipts each
    const members = Array.from({ length: 100 }, (_, i) => `${String(i).padStart(2, '0')}${'u'.repeat(62)}`);
    const alice = members[0] as string;
    const ids: string[] = [];
    for (let n = 0; n < 60; n++) {
      const id = `grp_${String(n).padStart(4, '0')}`;
      ids.push(id);
      const changedAt = new Date(Date.parse('2026-11-23T08:00:00.000Z') + n * 60_000).toISOString();
      givenEntry(
        id,
        {
          kind: 'group',
          members,
          title: '🏕'.repeat(200),
          changedAt,
          lastSeq: 9,
          readSeq: 2,
          lastMessage: storedMessage(id, 9, members[1] as string, { content: '😀'.repeat(4000) }),
        },
        alice,
      );
      for (const member of members.slice(1)) {
        givenEntry(id, { changedAt, readSeq: 9, deliveredSeq: 9 }, member);
      }
    }
    const order = [...ids].reverse();
    const page = async (cursor?: unknown) => {
      const response = await handler(
        messageEvent(
          { action: 'sync', limit: 100, ...(cursor !== undefined && { cursor }) },
          { userId: alice },
        ),
        lambdaContext,
      );
      expect(Buffer.byteLength(response.body ?? '')).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      return frameOf(response) as { conversations: Item[]; nextCursor: string | null };
    };

    // WHEN
    const first = await page();

    // THEN fewer than asked for, each whole, and the next would not have fitted (the page keeps room
    // for a cursor of 400 characters)
    expect(first.conversations.length).toBeGreaterThan(0);
    expect(first.conversations.length).toBeLessThan(60);
    expect(first.conversations[0]).toMatchObject({ members, receipts: expect.any(Array) });
    expect(first.conversations[0]?.receipts).toHaveLength(99);
    const second = await page(first.nextCursor);
    const next = second.conversations[0];
    const fuller = { ...first, conversations: [...first.conversations, next], nextCursor: 'x'.repeat(400) };
    expect(Buffer.byteLength(JSON.stringify(fuller))).toBeGreaterThan(MAX_FRAME_BYTES);

    // AND the next pages go on right after it, to the end
    const seen = [...first.conversations, ...second.conversations].map((entry) => entry.conversationId);
    let frame = second;
    while (frame.nextCursor !== null) {
      expect(seen.length).toBeLessThan(80);
      frame = await page(frame.nextCursor);
      seen.push(...frame.conversations.map((entry) => entry.conversationId));
    }
    expect(seen).toEqual(order);
  });
});

describe('conversation list cursors', () => {
  async function aCursor(): Promise<string> {
    givenDirects(3, (i) => new Date(Date.parse('2026-11-23T09:00:00.000Z') + i * 60_000).toISOString());
    const first = await list({ limit: 1 });
    expect(first.nextCursor).toEqual(expect.any(String));
    ddb.resetHistory();
    return String(first.nextCursor);
  }

  const refused = {
    type: 'error',
    code: 'bad_request',
    message: 'cursor: not a cursor of this conversation list; start again without one',
    action: 'sync',
  };

  it('refuses another user’s cursor without reading the index', async () => {
    const cursor = await aCursor();

    expect(await list({ cursor }, 'mallory')).toEqual(refused);
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('takes a cursor re-encoded unchanged: it is only a position in the caller’s own list', async () => {
    const cursor = await aCursor();

    const frame = await list({ cursor: cursorOf(cursorBody(cursor)), limit: 1 });

    expect(frame.type).toBe('conversations');
    expect(idsOf(frame)).toHaveLength(1);
  });

  it.each<[string, (body: Record<string, unknown>) => unknown]>([
    ['another user’s tag', (body) => ({ ...body, u: 'AAAAAAAAAAAAAAAA' })],
    ['no user tag', ({ u: _u, ...body }) => body],
    ['no position time', ({ t: _t, ...body }) => body],
    ['a position time that is not ISO 8601', (body) => ({ ...body, t: 'yesterday' })],
    ['a position time without milliseconds', (body) => ({ ...body, t: '2026-11-23T09:02:00Z' })],
    ['no read time', ({ r: _r, ...body }) => body],
    ['a read time that is a number', (body) => ({ ...body, r: Date.parse(NOW_ISO) })],
    ['an empty conversation id', (body) => ({ ...body, c: '' })],
    ['a conversation id of 201 characters', (body) => ({ ...body, c: 'c'.repeat(201) })],
    ['a conversation id that is not a string', (body) => ({ ...body, c: 7 })],
    ['a body that is an array', (body) => Object.values(body)],
    ['a body that is null', () => null],
    ['a body that is a string', () => 'cursor'],
    ['a body over 400 characters once encoded', (body) => ({ ...body, c: 'é'.repeat(200) })],
  ])('refuses a cursor with %s, reading nothing', async (_case, change) => {
    const cursor = cursorOf(change(cursorBody(await aCursor())));

    expect(await list({ cursor })).toEqual(refused);
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('refuses text that is not a cursor without reading anything', async () => {
    const cursor = await aCursor();
    for (const text of [
      'x',
      '../../etc',
      '{"offset":0}',
      `${cursor}=`,
      `${Buffer.from(JSON.stringify(cursorBody(cursor)))
        .toString('base64')
        .replace(/=+$/, '')}+/`,
      Buffer.from('not json at all').toString('base64url'),
    ]) {
      expect(await list({ cursor: text })).toEqual(refused);
    }
    expect(ddb).not.toHaveReceivedAnyCommand();
  });
});

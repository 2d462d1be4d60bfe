/**
 * sync without conversationId (the conversation list): one Query of the caller's `inbox` index entries,
 * newest activity first, the page's conversations, member items and newest messages read in batches,
 * a list longer than one page saved as a snapshot that later pages walk, pages under 128 KiB, and
 * cursors that are refused (bad_request, nothing read for another user, nothing written) when forged,
 * foreign, malformed or expired.
 */
import { BatchGetCommand, BatchWriteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '../../../functions/domain/frame-size.ts';
import { handler } from '../../../functions/routes/sync.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import { conversationItem, ddb, expectNothingWritten, frameOf, TABLE } from './route-mocks.ts';

type Item = Record<string, unknown>;

/** A small in-memory table behind the mock: what the list reads and writes, keyed by PK and SK. */
const table = new Map<string, Item>();
const keyOf = (key: { PK: unknown; SK: unknown }) => `${String(key.PK)}|${String(key.SK)}`;

function put(item: Item): void {
  table.set(keyOf(item as { PK: string; SK: string }), item);
}

const conversationId = (n: number) => `grp_${String(n).padStart(4, '0')}`;
const activityAt = (n: number) => new Date(Date.UTC(2026, 10, 1) + n * 60_000).toISOString();

/** Conversation n: alice and bob, activity n minutes after the 1st, alice read up to n−1 of n messages. */
function givenConversations(count: number, content = (n: number) => `last message of ${n}`): void {
  for (let n = 1; n <= count; n++) {
    const id = conversationId(n);
    put(conversationItem(id, ['alice', 'bob']));
    put({
      PK: `CONV#${id}`,
      SK: 'MEMBER#alice',
      type: 'member',
      conversationId: id,
      userId: 'alice',
      memberOf: 'alice',
      activityAt: activityAt(n),
      readSeq: n - 1,
      lastSeq: n,
    });
    // Bob sent message n: he read up to it (sending reads); it reached a connection of alice's.
    put({
      PK: `CONV#${id}`,
      SK: 'MEMBER#bob',
      type: 'member',
      conversationId: id,
      userId: 'bob',
      memberOf: 'bob',
      activityAt: activityAt(n),
      readSeq: n,
      lastSeq: n - 1,
    });
    put({
      PK: `CONV#${id}`,
      SK: `MSG#${String(n).padStart(12, '0')}`,
      type: 'message',
      conversationId: id,
      seq: n,
      messageId: `m-${n}`,
      senderId: 'bob',
      senderName: 'Bob',
      content: content(n),
      createdAt: activityAt(n),
      clientMessageId: `c-${n}`,
    });
  }
}

beforeEach(() => {
  table.clear();
  ddb.on(QueryCommand).callsFake((input: Item) => {
    const values = input.ExpressionAttributeValues as Record<string, string>;
    if (input.IndexName === 'inbox') {
      const items = [...table.values()].filter((item) => item.memberOf === values[':user']);
      return { Items: items.map(({ memberOf, PK, SK, activityAt }) => ({ memberOf, PK, SK, activityAt })) };
    }
    if (values[':member'] !== undefined) {
      return {
        Items: [...table.values()].filter(
          (item) => item.PK === values[':pk'] && String(item.SK).startsWith(values[':member'] as string),
        ),
      };
    }
    const messages = [...table.values()]
      .filter((item) => item.PK === values[':pk'] && String(item.SK).startsWith('MSG#'))
      .sort((a, b) => Number(b.seq) - Number(a.seq));
    return { Items: messages.slice(0, 1) };
  });
  ddb.on(BatchGetCommand).callsFake((input: { RequestItems: Record<string, { Keys: Item[] }> }) => {
    const wanted = input.RequestItems[TABLE]?.Keys ?? [];
    const found = wanted.map((key) => table.get(keyOf(key as { PK: string; SK: string }))).filter(Boolean);
    return { Responses: { [TABLE]: found } };
  });
  ddb.on(GetCommand).callsFake((input: { Key: Item }) => ({ Item: table.get(keyOf(input.Key as never)) }));
  ddb
    .on(BatchWriteCommand)
    .callsFake((input: { RequestItems: Record<string, { PutRequest: { Item: Item } }[]> }) => {
      for (const request of input.RequestItems[TABLE] ?? []) put(request.PutRequest.Item);
      return {};
    });
});

afterEach(() => {
  ddb.reset();
});

const list = async (fields: Record<string, unknown> = {}, userId = 'alice') =>
  frameOf(await handler(messageEvent({ action: 'sync', ...fields }, { userId }), lambdaContext));

describe('the conversation list', () => {
  it('answers a short list in one page: newest activity first, with the current fields of each', async () => {
    givenConversations(3);

    const frame = await list();

    expect(frame).toEqual({
      type: 'conversations',
      conversations: [3, 2, 1].map((n) => ({
        conversationId: conversationId(n),
        kind: 'group',
        members: ['alice', 'bob'],
        title: 'Lunch crew',
        lastSeq: n,
        version: n * 1_000_000,
        readSeq: n - 1,
        unread: 1,
        lastMessage: {
          conversationId: conversationId(n),
          messageId: `m-${n}`,
          seq: n,
          senderId: 'bob',
          content: `last message of ${n}`,
          createdAt: activityAt(n),
          clientMessageId: `c-${n}`,
          version: n * 1_000_000,
        },
        receipts: [{ userId: 'bob', readSeq: n, deliveredSeq: 0 }],
      })),
      nextCursor: null,
    });
    // One Query of the caller's own index partition, never a Scan; nothing saved for one page.
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLE,
      IndexName: 'inbox',
      KeyConditionExpression: 'memberOf = :user',
      ExpressionAttributeValues: { ':user': 'alice' },
    });
    // Per conversation: its members (the caller's cursor and the others' receipts) and its newest message.
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1 + 3 * 2);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :member)',
      ExpressionAttributeValues: { ':pk': `CONV#${conversationId(3)}`, ':member': 'MEMBER#' },
      ConsistentRead: false,
    });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
      ExpressionAttributeValues: { ':pk': `CONV#${conversationId(3)}`, ':msg': 'MSG#' },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    });
    expectNothingWritten();
  });

  it('counts a newest message from someone else as unread before delivery has counted it, never one’s own', async () => {
    givenConversations(2);
    // Delivery has not run yet for message 2 of conversation 2 (bob's): alice's lastSeq is still 1.
    const waiting = table.get(`CONV#${conversationId(2)}|MEMBER#alice`) as Item;
    put({ ...waiting, lastSeq: 1, readSeq: 1 });
    // Conversation 1's newest message is alice's own.
    const own = table.get(`CONV#${conversationId(1)}|MSG#${String(1).padStart(12, '0')}`) as Item;
    put({ ...own, senderId: 'alice' });
    const mine = table.get(`CONV#${conversationId(1)}|MEMBER#alice`) as Item;
    put({ ...mine, lastSeq: 0, readSeq: 0 });

    const frame = await list();

    expect(frame.conversations).toEqual([
      expect.objectContaining({ conversationId: conversationId(2), lastSeq: 2, readSeq: 1, unread: 1 }),
      expect.objectContaining({ conversationId: conversationId(1), lastSeq: 1, readSeq: 0, unread: 0 }),
    ]);
  });

  it('answers an empty list for a user in no conversation', async () => {
    expect(await list()).toEqual({ type: 'conversations', conversations: [], nextCursor: null });
    expectNothingWritten();
  });

  it('gives a conversation with no message yet lastMessage null and lastSeq 0', async () => {
    put(conversationItem('grp_new', ['alice', 'carol']));
    put({
      PK: 'CONV#grp_new',
      SK: 'MEMBER#alice',
      conversationId: 'grp_new',
      userId: 'alice',
      memberOf: 'alice',
      activityAt: activityAt(1),
      readSeq: 0,
      lastSeq: 0,
    });

    const frame = await list();

    expect(frame.conversations).toEqual([
      expect.objectContaining({
        conversationId: 'grp_new',
        lastSeq: 0,
        readSeq: 0,
        unread: 0,
        lastMessage: null,
      }),
    ]);
  });

  it('saves a longer list once and pages through it exactly, each conversation once, in order', async () => {
    givenConversations(230);

    const seen: string[] = [];
    let frame = await list({ limit: 100 });
    // The snapshot: the whole order in chunks of 100 ids, expiring by TTL within the hour.
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, 1);
    const chunks = ddb.commandCalls(BatchWriteCommand)[0]?.args[0].input.RequestItems?.[TABLE] ?? [];
    expect(chunks.map((chunk) => chunk.PutRequest?.Item?.SK)).toEqual([
      'CHUNK#0000',
      'CHUNK#0001',
      'CHUNK#0002',
    ]);
    const expiresAt = Number(chunks[0]?.PutRequest?.Item?.expiresAt);
    expect(expiresAt - Date.now() / 1000).toBeGreaterThan(3500);
    expect(expiresAt - Date.now() / 1000).toBeLessThanOrEqual(3600);

    for (let pages = 1; ; pages++) {
      seen.push(
        ...(frame.conversations as { conversationId: string }[]).map((entry) => entry.conversationId),
      );
      if (frame.nextCursor === null) break;
      expect(pages).toBeLessThan(10);
      frame = await list({ cursor: frame.nextCursor, limit: 100 });
    }
    expect(seen).toEqual(Array.from({ length: 230 }, (_, i) => conversationId(230 - i)));
    // Saved once, by the first page; the later ones read it strongly consistently.
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        [TABLE]: {
          Keys: [{ PK: expect.stringMatching(/^LIST#alice#/), SK: 'CHUNK#0001' }],
          ConsistentRead: true,
        },
      },
    });
  });

  it('keeps the first page’s order while conversations move up, and serves their current fields', async () => {
    givenConversations(60);
    const first = await list();
    // Conversation 1 (last in the order) gets a new message after the first page.
    const member = table.get(`CONV#${conversationId(1)}|MEMBER#alice`) as Item;
    put({ ...member, activityAt: activityAt(1000), lastSeq: 2 });

    const second = await list({ cursor: first.nextCursor });

    const ids = (second.conversations as { conversationId: string }[]).map((entry) => entry.conversationId);
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => conversationId(10 - i)));
    expect(second.conversations).toContainEqual(
      expect.objectContaining({ conversationId: conversationId(1), unread: 2 }),
    );
    expect(second.nextCursor).toBeNull();
  });

  it('shrinks a page of maximal entries below 128 KiB and continues where it stopped', async () => {
    // 100 conversations whose newest message is 4,000 four-byte characters.
    givenConversations(100, () => '😀'.repeat(4000));

    const first = await handler(
      messageEvent({ action: 'sync', limit: 100 }, { userId: 'alice' }),
      lambdaContext,
    );
    expect(Buffer.byteLength(first.body ?? '')).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const page = JSON.parse(first.body ?? '{}') as { conversations: unknown[]; nextCursor: string };
    expect(page.conversations.length).toBeGreaterThan(0);
    expect(page.conversations.length).toBeLessThan(100);

    const rest = await list({ cursor: page.nextCursor, limit: 100 });
    expect((rest.conversations as { conversationId: string }[])[0]?.conversationId).toBe(
      conversationId(100 - page.conversations.length),
    );
  });

  it('skips a conversation the caller is no longer a member of, after reading it consistently', async () => {
    givenConversations(2);
    // The index (eventually consistent) still lists a member item that is gone from the table.
    const gone = `CONV#${conversationId(2)}|MEMBER#alice`;
    const stale = table.get(gone) as Item;
    ddb.on(QueryCommand, { IndexName: 'inbox' }).resolves({
      Items: [stale, table.get(`CONV#${conversationId(1)}|MEMBER#alice`) as Item],
    });
    table.delete(gone);

    const frame = await list();

    expect(
      (frame.conversations as { conversationId: string }[]).map((entry) => entry.conversationId),
    ).toEqual([conversationId(1)]);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { PK: `CONV#${conversationId(2)}`, SK: 'MEMBER#alice' },
      ConsistentRead: true,
    });
  });
});

describe('conversation list cursors', () => {
  async function aCursor(): Promise<string> {
    givenConversations(60);
    const first = await list();
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

  it('refuses a cursor whose position was changed', async () => {
    const [listId, , mac] = (await aCursor()).split('.');

    expect(await list({ cursor: `${listId}.1.${mac}` })).toEqual(refused);
    expectNothingWritten();
  });

  it('refuses a cursor whose MAC was changed', async () => {
    const cursor = await aCursor();
    const forged = `${cursor.slice(0, -1)}${cursor.endsWith('A') ? 'B' : 'A'}`;

    expect(await list({ cursor: forged })).toEqual(refused);
  });

  it('refuses another user’s cursor without reading their list', async () => {
    const cursor = await aCursor();

    expect(await list({ cursor }, 'mallory')).toEqual(refused);
    // The list is looked up under the caller's own id only.
    expect(ddb).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        [TABLE]: {
          Keys: [expect.objectContaining({ PK: expect.stringMatching(/^LIST#mallory#/) })],
          ConsistentRead: true,
        },
      },
    });
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it('refuses text that is not a cursor without reading anything', async () => {
    for (const cursor of ['x', 'AAAAAAAAAAAAAAAA.-1.AAAAAAAAAAAAAAAAAAAAAA', '{"offset":0}', '../../etc']) {
      expect(await list({ cursor })).toEqual(refused);
    }
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('refuses an expired cursor, even before TTL has deleted its list', async () => {
    const cursor = await aCursor();
    for (const [key, item] of table) {
      if (key.startsWith('LIST#')) table.set(key, { ...item, expiresAt: Math.floor(Date.now() / 1000) - 1 });
    }

    expect(await list({ cursor })).toEqual({
      ...refused,
      message: 'cursor: expired; start the conversation list again without a cursor',
    });
  });
});

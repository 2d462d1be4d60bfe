/**
 * sync with conversationId: members only (one answer for someone else's conversation and one that does
 * not exist), one strongly consistent Query on the message range after `afterSeq`, pages of 1–100
 * messages that stay under 128 KiB however large the messages, `hasMore` when more are left.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '../../../functions/domain/frame-size.ts';
import { handler } from '../../../functions/routes/sync.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import { ddb, expectNothingWritten, frameOf, TABLE } from './route-mocks.ts';

const GROUP = 'grp-lunch';
const MEMBER_KEY = { PK: `CONV#${GROUP}`, SK: 'MEMBER#alice' };
const ALICE = { name: 'Alice Martin', deviceId: 'iphone-7f3a' };

const sync = (fields: Record<string, unknown>) =>
  handler(messageEvent({ action: 'sync', ...fields }, ALICE), lambdaContext);

const messageItem = (seq: number, content = `message ${seq}`) => ({
  PK: `CONV#${GROUP}`,
  SK: `MSG#${String(seq).padStart(12, '0')}`,
  type: 'message',
  conversationId: GROUP,
  seq,
  messageId: `m-${seq}`,
  senderId: seq % 2 === 0 ? 'alice' : 'bob',
  senderName: 'Someone',
  content,
  createdAt: `2026-11-23T10:${String(seq % 60).padStart(2, '0')}:00.000Z`,
  clientMessageId: `c-${seq}`,
  originConnectionId: 'CfQ3bfF3DoECJqQ=',
});

const view = (seq: number, content = `message ${seq}`) => {
  const {
    PK: _pk,
    SK: _sk,
    type: _type,
    senderName: _name,
    originConnectionId: _origin,
    ...rest
  } = messageItem(seq, content);
  return { ...rest, version: seq * 1_000_000 };
};

function givenMember(blocks?: string[]): void {
  ddb.on(GetCommand, { Key: MEMBER_KEY }).resolves({
    Item: { ...MEMBER_KEY, type: 'member', conversationId: GROUP, userId: 'alice', readSeq: 0, lastSeq: 0 },
  });
  // (1.2) Whom alice blocks: a group's messages from them are hidden from her.
  ddb
    .on(GetCommand, { Key: STATE_KEY })
    .resolves(blocks === undefined ? {} : { Item: { ...STATE_KEY, blocks: new Set(blocks) } });
}

const STATE_KEY = { PK: 'USER#alice', SK: 'STATE' };

/** The conversation holds messages 1..n; each Query answers the requested range like DynamoDB would. */
function givenMessages(n: number, content?: (seq: number) => string): void {
  ddb.on(QueryCommand).callsFake((input: Record<string, unknown>) => {
    const values = input.ExpressionAttributeValues as Record<string, string>;
    const start = input.ExclusiveStartKey as { SK: string } | undefined;
    const from = Math.max(Number(values[':from']?.slice(4)), start ? Number(start.SK.slice(4)) + 1 : 0);
    const limit = Number(input.Limit);
    const seqs = Array.from({ length: Math.max(0, n - from + 1) }, (_, i) => from + i).slice(0, limit);
    const items = seqs.map((seq) => messageItem(seq, content?.(seq)));
    const last = items.at(-1);
    const more = seqs.length === limit && (seqs.at(-1) ?? n) < n;
    return { Items: items, ...(more && last ? { LastEvaluatedKey: { PK: last.PK, SK: last.SK } } : {}) };
  });
}

afterEach(() => {
  ddb.reset();
});

describe('sync of one conversation', () => {
  it('answers the messages after afterSeq in seq order, shaped like message frames', async () => {
    givenMember();
    givenMessages(7);

    const frame = frameOf(await sync({ conversationId: GROUP, afterSeq: 4 }));

    expect(frame).toEqual({
      type: 'messages',
      conversationId: GROUP,
      messages: [view(5), view(6), view(7)],
      hasMore: false,
    });
    expectNothingWritten();
  });

  it('reads membership, the reader’s blocks and the message range strongly consistent, in exactly these three calls', async () => {
    givenMember();
    givenMessages(3);

    await sync({ conversationId: GROUP });

    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: MEMBER_KEY,
      ConsistentRead: true,
    });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: STATE_KEY,
      ProjectionExpression: 'blocks',
      ConsistentRead: true,
    });
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 2);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: TABLE,
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': `CONV#${GROUP}`,
        ':from': 'MSG#000000000001',
        ':to': 'MSG#999999999999',
      },
      ConsistentRead: true,
      Limit: 10,
    });
  });

  it('hides the messages of a sender the reader blocks: no content, no attachments (protocol.md 1.2)', async () => {
    givenMember(['mallory']);
    ddb.on(QueryCommand).resolves({
      Items: [
        messageItem(1, 'hello'),
        {
          ...messageItem(2, 'buy my course'),
          senderId: 'mallory',
          attachments: [{ attachmentId: 'a1', key: 'k', contentType: 'image/png', size: 9 }],
        },
      ],
    });

    const frame = frameOf(await sync({ conversationId: GROUP }));

    expect(frame.messages).toEqual([view(1, 'hello'), { ...view(2, ''), senderId: 'mallory', hidden: true }]);
  });

  it('stops at limit and says hasMore, having read one message more to know', async () => {
    givenMember();
    givenMessages(10);

    const frame = frameOf(await sync({ conversationId: GROUP, afterSeq: 0, limit: 3 }));

    expect(frame).toMatchObject({ messages: [view(1), view(2), view(3)], hasMore: true });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { Limit: 4 });
  });

  it('answers an empty page without hasMore when nothing is newer', async () => {
    givenMember();
    givenMessages(5);

    expect(frameOf(await sync({ conversationId: GROUP, afterSeq: 5 }))).toEqual({
      type: 'messages',
      conversationId: GROUP,
      messages: [],
      hasMore: false,
    });
  });

  it('pages 100 messages of 4,000 multi-byte characters under 128 KiB each, losing none', async () => {
    givenMember();
    // 4,000 characters of 4-byte UTF-8 (and a JSON-escaped quote): about 16 KB per message.
    givenMessages(100, (seq) => `"${'😀'.repeat(3998)}${String(seq % 10)}`);

    const seen: number[] = [];
    let afterSeq = 0;
    for (let page = 0; page < 100; page++) {
      const response = await sync({ conversationId: GROUP, afterSeq, limit: 100 });
      expect(Buffer.byteLength(response.body ?? '')).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      const frame = frameOf(response) as { messages: { seq: number }[]; hasMore: boolean };
      expect(frame.messages.length).toBeGreaterThan(0);
      seen.push(...frame.messages.map((message) => message.seq));
      afterSeq = frame.messages.at(-1)?.seq ?? afterSeq;
      if (!frame.hasMore) break;
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('reads a page of small messages in two Queries, sized by what the first one showed', async () => {
    givenMember();
    givenMessages(80);

    const frame = frameOf(await sync({ conversationId: GROUP, limit: 50 })) as { messages: unknown[] };

    expect(frame.messages).toHaveLength(50);
    const limits = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.Limit);
    expect(limits).toEqual([10, 41]);
  });
});

describe('sync refusals', () => {
  it('answers a non-member forbidden without reading any message', async () => {
    ddb.on(GetCommand).resolves({});

    const frame = frameOf(await sync({ conversationId: GROUP }));

    expect(frame).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'not a member of this conversation',
      action: 'sync',
    });
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it.each([
    [{ limit: 0 }],
    [{ limit: 101 }],
    [{ limit: 2.5 }],
    [{ afterSeq: -1 }],
    [{ afterSeq: '3' }],
  ])('answers bad_request for %o', async (fields) => {
    const frame = frameOf(await sync({ conversationId: GROUP, ...fields }));

    expect(frame).toMatchObject({ type: 'error', code: 'bad_request', action: 'sync' });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('refuses a list cursor with a conversationId, reading nothing', async () => {
    const frame = frameOf(
      await sync({ conversationId: GROUP, cursor: 'AAAAAAAAAAAAAAAA.50.AAAAAAAAAAAAAAAAAAAAAA' }),
    );

    expect(frame).toEqual({
      type: 'error',
      code: 'bad_request',
      message: 'cursor: only for the conversation list (sync without conversationId)',
      action: 'sync',
    });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });
});

/**
 * (1.2) `report`, with DynamoDB mocked: the exact reads (the caller's own report, then membership, then
 * the message or the newest 50), the one transaction that stores the report and its copies
 * (`attribute_not_exists(PK)` on each), the answers to a retry found stored, to a concurrent retry that
 * won the race and to a transaction conflict; and every refusal (a note over 1000 characters, a bad
 * reason, a non-member, a missing seq) stores nothing. The metric counts only a report stored now.
 */
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { directConversationId, reportIdFor } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/report.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  CONDITION_FAILED,
  CONFLICT,
  cancelled,
  conditionFailed,
  ddb,
  expectNothingWritten,
  frameOf,
  givenConversation,
  givenRateBucketsAdmit,
  groupRead,
  NONE,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-11-23T10:30:05.200Z');
const GROUP = 'grp-lunch';
const DM = directConversationId('alice', 'bob');
const REQUEST = 'rep-1';
const REPORT_ID = reportIdFor('alice', REQUEST);

const report = (fields: Record<string, unknown> = {}) =>
  messageEvent({
    action: 'report',
    clientRequestId: REQUEST,
    conversationId: GROUP,
    reason: 'harassment',
    ...fields,
  });

const memberKey = (conversationId: string) => ({ PK: `CONV#${conversationId}`, SK: 'MEMBER#alice' });
const messageKey = (conversationId: string, seq: number) => ({
  PK: `CONV#${conversationId}`,
  SK: `MSG#${String(seq).padStart(12, '0')}`,
});

function givenMember(conversationId: string): void {
  ddb.on(GetCommand, { Key: memberKey(conversationId) }).resolves({
    Item: {
      ...memberKey(conversationId),
      type: 'member',
      conversationId,
      userId: 'alice',
      readSeq: 1,
      lastSeq: 3,
    },
  });
}

/** A message item as message-store.ts puts it (with what a report leaves out: the sending connection). */
function messageItem(conversationId: string, seq: number, fields: Record<string, unknown> = {}) {
  return {
    ...messageKey(conversationId, seq),
    type: 'message',
    conversationId,
    seq,
    messageId: `m-${seq}`,
    senderId: 'bob',
    senderName: 'Bob',
    content: `message ${seq}`,
    createdAt: '2026-11-23T10:00:00.000Z',
    clientMessageId: `c-${seq}`,
    originConnectionId: 'bobConn0000001=',
    ...fields,
  };
}

/** The copy a report keeps of messageItem(…): the message's fields, without the connection. */
const copyOf = (conversationId: string, seq: number, fields: Record<string, unknown> = {}) => ({
  conversationId,
  seq,
  messageId: `m-${seq}`,
  senderId: 'bob',
  content: `message ${seq}`,
  createdAt: '2026-11-23T10:00:00.000Z',
  clientMessageId: `c-${seq}`,
  ...fields,
});

const ACK = { type: 'ack', action: 'report', clientRequestId: REQUEST, reportId: REPORT_ID };

const getReportInput = {
  TableName: TABLE,
  Key: { PK: `REPORT#${REPORT_ID}`, SK: 'REPORT' },
  ConsistentRead: true,
};
const getMemberInput = (conversationId: string) => ({
  TableName: TABLE,
  Key: memberKey(conversationId),
  ConsistentRead: true,
});

/** The transaction that stores a report and its copies. */
function storeTransaction(header: Record<string, unknown>, copies: Record<string, unknown>[]) {
  return {
    TransactItems: [
      {
        Put: {
          TableName: TABLE,
          Item: {
            PK: `REPORT#${REPORT_ID}`,
            SK: 'REPORT',
            type: 'report',
            reportId: REPORT_ID,
            reporterId: 'alice',
            clientRequestId: REQUEST,
            reportedAt: NOW.toISOString(),
            reportStatus: 'open',
            ...header,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      ...copies.map((message) => ({
        Put: {
          TableName: TABLE,
          Item: {
            PK: `REPORT#${REPORT_ID}`,
            SK: `MSG#${String(message.seq).padStart(12, '0')}`,
            type: 'reportCopy',
            reportId: REPORT_ID,
            message,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      })),
    ],
  };
}

/** The EMF lines of the `Reports` metric written while the test ran (PARLEY_METRICS=on). */
let metricLines: Record<string, unknown>[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  process.env.PARLEY_METRICS = 'on';
  metricLines = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    // EMF lines (RouteErrors too) stay out of the report; the Reports ones are kept to be looked at.
    if (text.startsWith('{"_aws"')) {
      const line = JSON.parse(text) as Record<string, unknown>;
      if ('Reports' in line) metricLines.push(line);
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  });
  ddb.on(GetCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(TransactWriteCommand).resolves({});
  givenRateBucketsAdmit();
});

/** The reporter's rate bucket, asked first: a refusal there has read and stored nothing. */
const RATE = rateBucketUpdate('alice', 'report');

afterEach(() => {
  delete process.env.PARLEY_METRICS;
  vi.useRealTimers();
  vi.restoreAllMocks();
  ddb.reset();
});

describe('report of a message', () => {
  beforeEach(() => givenMember(GROUP));

  it('reads its own report, membership and the message, then stores the report with its copy in one transaction', async () => {
    // GIVEN an edited message with a reaction and an attachment
    ddb.on(GetCommand, { Key: messageKey(GROUP, 2) }).resolves({
      Item: messageItem(GROUP, 2, {
        editedAt: '2026-11-23T10:05:00.000Z',
        version: 5,
        'R#👍': new Set(['carol']),
        'U#carol': new Set(['👍']),
        reactionEmoji: new Set(['👍']),
        attachments: [
          { attachmentId: 'a-1', key: 'attachments/grp-lunch/a-1', contentType: 'image/png', size: 1234 },
        ],
      }),
    });

    // WHEN
    const response = await handler(report({ seq: 2, note: '  he keeps at it  ' }), lambdaContext);

    // THEN
    expect(frameOf(response)).toEqual(ACK);
    expect(sentToDynamo()).toEqual([
      RATE,
      ['GetCommand', getReportInput],
      ['GetCommand', getMemberInput(GROUP)],
      ['GetCommand', { TableName: TABLE, Key: messageKey(GROUP, 2), ConsistentRead: true }],
      [
        'TransactWriteCommand',
        storeTransaction(
          { conversationId: GROUP, seq: 2, reason: 'harassment', note: 'he keeps at it', messageCount: 1 },
          [
            copyOf(GROUP, 2, {
              editedAt: '2026-11-23T10:05:00.000Z',
              version: 5,
              reactions: { '👍': ['carol'] },
              attachments: [
                {
                  attachmentId: 'a-1',
                  key: 'attachments/grp-lunch/a-1',
                  contentType: 'image/png',
                  size: 1234,
                },
              ],
            }),
          ],
        ),
      ],
    ]);
    expect(metricLines).toHaveLength(1);
    expect(metricLines[0]).toMatchObject({ Reason: 'harassment', Reports: 1 });
  });

  it('copies a tombstone as it is: it exists', async () => {
    ddb.on(GetCommand, { Key: messageKey(GROUP, 3) }).resolves({
      Item: messageItem(GROUP, 3, { content: '', deleted: true, version: 7 }),
    });

    expect(frameOf(await handler(report({ seq: 3 }), lambdaContext))).toEqual(ACK);

    expect(ddb).toHaveReceivedCommandWith(
      TransactWriteCommand,
      storeTransaction({ conversationId: GROUP, seq: 3, reason: 'harassment', messageCount: 1 }, [
        copyOf(GROUP, 3, { content: '', deleted: true, version: 7 }),
      ]),
    );
  });

  it('answers not_found for a seq with no message, and stores nothing', async () => {
    const response = await handler(report({ seq: 9 }), lambdaContext);

    expect(frameOf(response)).toEqual({
      type: 'error',
      code: 'not_found',
      message: 'no message with seq 9 in this conversation',
      action: 'report',
      clientRequestId: REQUEST,
    });
    expectNothingWritten();
    expect(metricLines).toEqual([]);
  });
});

describe('report of a conversation', () => {
  it('copies the newest 50 messages, ascending seq, from one descending Query', async () => {
    // GIVEN a direct conversation of 80 messages: the Query answers the newest 50, newest first
    givenMember(DM);
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': `CONV#${DM}` } })
      .resolves({ Items: Array.from({ length: 50 }, (_, i) => messageItem(DM, 80 - i)) });

    // WHEN
    const response = await handler(report({ conversationId: DM, reason: 'spam' }), lambdaContext);

    // THEN
    expect(frameOf(response)).toEqual(ACK);
    expect(sentToDynamo().slice(0, 4)).toEqual([
      RATE,
      ['GetCommand', getReportInput],
      ['GetCommand', getMemberInput(DM)],
      [
        'QueryCommand',
        {
          TableName: TABLE,
          KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': `CONV#${DM}`,
            ':from': 'MSG#000000000001',
            ':to': 'MSG#999999999999',
          },
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: 50,
        },
      ],
    ]);
    expect(ddb).toHaveReceivedCommandWith(
      TransactWriteCommand,
      storeTransaction(
        { conversationId: DM, reason: 'spam', messageCount: 50 },
        Array.from({ length: 50 }, (_, i) => copyOf(DM, 31 + i)),
      ),
    );
    expect(metricLines[0]).toMatchObject({ Reason: 'spam', Reports: 1 });
  });

  it('stores a report with no copies for a conversation without messages', async () => {
    givenMember(GROUP);

    expect(frameOf(await handler(report(), lambdaContext))).toEqual(ACK);

    expect(ddb).toHaveReceivedCommandWith(
      TransactWriteCommand,
      storeTransaction({ conversationId: GROUP, reason: 'harassment', messageCount: 0 }, []),
    );
  });

  it('leaves out the oldest copies once they would weigh over 3 MB together (one transaction holds 4 MB)', async () => {
    // GIVEN 50 messages of 100 KB each (heavier than any message can be: the budget is what is tested)
    givenMember(GROUP);
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': `CONV#${GROUP}` } }).resolves({
      Items: Array.from({ length: 50 }, (_, i) =>
        messageItem(GROUP, 50 - i, { content: 'x'.repeat(100_000) }),
      ),
    });

    await handler(report(), lambdaContext);

    const input = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input;
    const copies = (input?.TransactItems ?? [])
      .slice(1)
      .map((item) => item.Put?.Item?.message as { seq: number });
    // 29 copies of ~100 KB fit in 3,000,000 bytes; the newest are kept, in ascending order.
    expect(copies.map((copy) => copy.seq)).toEqual(Array.from({ length: 29 }, (_, i) => 22 + i));
    expect(input?.TransactItems?.[0]?.Put?.Item).toMatchObject({ messageCount: 29 });
  });
});

describe('retries', () => {
  beforeEach(() => givenMember(GROUP));

  it('answers a retry of a stored report with its id before reading anything else, even after leaving', async () => {
    // GIVEN the report is stored, and alice is no longer a member
    ddb.on(GetCommand, { Key: memberKey(GROUP) }).resolves({});
    ddb.on(GetCommand, { Key: { PK: `REPORT#${REPORT_ID}`, SK: 'REPORT' } }).resolves({
      Item: { reportId: REPORT_ID, reporterId: 'alice', conversationId: GROUP, reportStatus: 'open' },
    });

    const response = await handler(report({ seq: 2 }), lambdaContext);

    expect(frameOf(response)).toEqual(ACK);
    expect(sentToDynamo()).toEqual([RATE, ['GetCommand', getReportInput]]);
    expect(metricLines).toEqual([]);
  });

  it('answers the same ack when a concurrent retry stored it first (the transaction’s condition failed)', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(CONDITION_FAILED));

    const response = await handler(report(), lambdaContext);

    expect(frameOf(response)).toEqual(ACK);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(metricLines).toEqual([]);
  });

  it('tries the transaction again after a conflict, and counts the report once', async () => {
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled(CONFLICT)).resolves({});

    expect(frameOf(await handler(report(), lambdaContext))).toEqual(ACK);

    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    expect(metricLines).toHaveLength(1);
  });

  it('answers internal when the transactions keep conflicting (the client retries with the same id)', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(CONFLICT, NONE));

    const answer = frameOf(await handler(report(), lambdaContext));

    expect(answer).toMatchObject({
      type: 'error',
      code: 'internal',
      action: 'report',
      clientRequestId: REQUEST,
    });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 5);
  });
});

describe('refusals store nothing', () => {
  it.each([
    ['a group', GROUP, groupRead(GROUP)],
    ['a direct conversation (its id anyone can compute)', directConversationId('bob', 'carol'), []],
  ])('a non-member of %s gets the shared forbidden after reading only membership', async (_, id, extra) => {
    const response = await handler(report({ conversationId: id, seq: 1 }), lambdaContext);

    expect(frameOf(response)).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'not a member of this conversation',
      action: 'report',
      clientRequestId: REQUEST,
    });
    expect(sentToDynamo()).toEqual([
      RATE,
      ['GetCommand', getReportInput],
      ['GetCommand', getMemberInput(id)],
      ...extra,
    ]);
    expectNothingWritten();
  });

  it('even when a group lists the caller in its item but a creation never wrote the member (repaired first)', async () => {
    // The group is whole for every member (membership.ts): this is a member, not a refusal.
    givenConversation(GROUP, ['alice', 'bob']);
    ddb
      .on(GetCommand, { Key: memberKey(GROUP) })
      .resolvesOnce({})
      .resolves({
        Item: {
          ...memberKey(GROUP),
          type: 'member',
          conversationId: GROUP,
          userId: 'alice',
          readSeq: 0,
          lastSeq: 0,
        },
      });

    expect(frameOf(await handler(report(), lambdaContext))).toEqual(ACK);
  });

  it.each([
    ['a note over 1000 characters (emoji count as one)', { note: '😀'.repeat(1001) }, 'too_large'],
    ['a reason not in the list', { reason: 'rude' }, 'bad_request'],
    ['a reason in capitals', { reason: 'SPAM' }, 'bad_request'],
    ['a seq of 0', { seq: 0 }, 'bad_request'],
    ['a note that is a number', { note: 7 }, 'bad_request'],
    ['no clientRequestId', { clientRequestId: undefined }, 'bad_request'],
    ['a clientRequestId with #', { clientRequestId: 'a#b' }, 'bad_request'],
    ['a conversationId of 129 characters', { conversationId: 'c'.repeat(129) }, 'too_large'],
  ])('%s: refused before any DynamoDB call', async (_, fields, code) => {
    const response = await handler(report(fields), lambdaContext);

    expect(frameOf(response)).toMatchObject({ type: 'error', code, action: 'report' });
    expect(ddb.calls()).toEqual([]);
  });

  it('refuses a report past the reporter’s limit with retryAfterMs, before reading or storing anything', async () => {
    // GIVEN alice's report bucket is full (10 at once, then 2 a minute): it is next empty far ahead
    givenMember(GROUP);
    ddb.on(UpdateCommand).rejects(conditionFailed(marshall({ tat: NOW.getTime() + 400_000 })));

    const answer = frameOf(await handler(report(), lambdaContext));

    expect(answer).toMatchObject({
      type: 'error',
      code: 'rate_limited',
      action: 'report',
      clientRequestId: REQUEST,
      retryAfterMs: expect.any(Number),
    });
    expect(answer.retryAfterMs).toBeGreaterThan(0);
    expect(sentToDynamo()).toEqual([RATE]);
  });

  it('takes a note of exactly 1000 characters, and a blank or null note as none', async () => {
    givenMember(GROUP);

    await handler(report({ note: '😀'.repeat(1000) }), lambdaContext);
    await handler(report({ clientRequestId: 'rep-2', note: ' \n ' }), lambdaContext);
    await handler(report({ clientRequestId: 'rep-3', note: null }), lambdaContext);

    const headers = ddb
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.TransactItems?.[0]?.Put?.Item);
    expect(headers[0]?.note).toBe('😀'.repeat(1000));
    expect(headers[1]).not.toHaveProperty('note');
    expect(headers[2]).not.toHaveProperty('note');
  });
});

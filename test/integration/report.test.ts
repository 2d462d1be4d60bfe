/**
 * (1.2) `report` against DynamoDB Local, through the real handlers: concurrent retries of one
 * clientRequestId keep one report (one item, one set of copies, the same reportId for all); the copy
 * survives a later edit and deletion of the message; a non-member is refused `forbidden` and a member
 * naming a missing seq `not_found`, with nothing stored; and the operators' queue
 * (functions/domain/report-queue.ts) lists by status from the `reports` index and resolves once, under
 * concurrent resolves too.
 */
import { randomUUID } from 'node:crypto';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { getReport, readCopies, storeReport } from '../../functions/adapters/report-store.ts';
import { directConversationId, reportIdFor } from '../../functions/domain/identifiers.ts';
import { listReports, resolveReport } from '../../functions/domain/report-queue.ts';
import { handler as createConversation } from '../../functions/routes/create-conversation.ts';
import { handler as deleteMessage } from '../../functions/routes/delete-message.ts';
import { handler as editMessage } from '../../functions/routes/edit-message.ts';
import { handler as report } from '../../functions/routes/report.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';

type Frame = Record<string, unknown>;
type Route = typeof report;

async function call(route: Route, frame: Frame, userId: string): Promise<Frame | undefined> {
  const response = await route(
    messageEvent(frame, { userId, connectionId: `${userId}-conn` }),
    lambdaContext,
  );
  return response.body === undefined ? undefined : (JSON.parse(response.body) as Frame);
}

/** Counts the `Reports` metric's EMF lines from now on (PARLEY_METRICS=on writes them outside Lambda). */
function countReports(): () => number {
  process.env.PARLEY_METRICS = 'on';
  let count = 0;
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
    const text = String(chunk);
    if (!text.startsWith('{"_aws"')) return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    if ('Reports' in (JSON.parse(text) as object)) count += 1;
    return true;
  });
  return () => count;
}

afterEach(() => {
  delete process.env.PARLEY_METRICS;
  vi.restoreAllMocks();
});

/** Fresh user ids per test: the table is shared by the file's tests. */
const users = <Names extends string[]>(...names: Names): { [K in keyof Names]: string } => {
  const suffix = randomUUID().slice(0, 8);
  return names.map((name) => `${name}-${suffix}`) as { [K in keyof Names]: string };
};

async function send(from: string, target: Frame, content: string): Promise<number> {
  const ack = await call(
    sendMessage,
    { action: 'sendMessage', clientMessageId: randomUUID(), content, ...target },
    from,
  );
  expect(ack).toMatchObject({ type: 'ack', duplicate: false });
  return Number(ack?.seq);
}

const reportFrame = (clientRequestId: string, conversationId: string, fields: Frame = {}): Frame => ({
  action: 'report',
  clientRequestId,
  conversationId,
  reason: 'harassment',
  ...fields,
});

/** Every item of a report's partition (the report and its copies), strongly consistent. */
async function reportPartition(reportId: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': `REPORT#${reportId}` },
      ConsistentRead: true,
    }),
  );
  return Items;
}

/** Every report in the table filed by `userId` (a Scan: the test looks everywhere, not where it expects). */
async function reportItemsOf(userId: string): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({ TableName: TABLE_NAME, ConsistentRead: true, ExclusiveStartKey }),
    );
    found.push(
      ...(page.Items ?? []).filter(
        (item) => String(item.PK).startsWith('REPORT#') && item.reporterId === userId,
      ),
    );
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey !== undefined);
  return found;
}

describe('report', () => {
  it('keeps one report, with one copy of each message, however many retries of one clientRequestId race', async () => {
    // GIVEN a direct conversation of three messages
    const [ana, ben] = users('ana', 'ben');
    const dm = directConversationId(ana, ben);
    await send(ben, { to: ana }, 'first');
    await send(ben, { conversationId: dm }, 'second');
    await send(ana, { conversationId: dm }, 'third');

    // WHEN 30 retries of one report of the conversation run at once
    const counted = countReports();
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => call(report, reportFrame('dup-1', dm, { reason: 'spam' }), ana)),
    );

    // THEN every one is acked with the one report id
    const reportId = reportIdFor(ana, 'dup-1');
    for (const answer of answers) {
      expect(answer).toEqual({ type: 'ack', action: 'report', clientRequestId: 'dup-1', reportId });
    }
    // AND it was stored (and counted) by one of them: the others' conditions failed
    expect(counted()).toBe(1);
    // AND one report item with its three copies, nothing else
    const items = await reportPartition(reportId);
    expect(items.map((item) => item.SK)).toEqual([
      'MSG#000000000001',
      'MSG#000000000002',
      'MSG#000000000003',
      'REPORT',
    ]);
    expect(await getReport(reportId)).toEqual({
      reportId,
      reporterId: ana,
      conversationId: dm,
      reason: 'spam',
      reportedAt: expect.any(String),
      status: 'open',
      messageCount: 3,
    });
    expect((await readCopies(reportId)).map((copy) => [copy.seq, copy.senderId, copy.content])).toEqual([
      [1, ben, 'first'],
      [2, ben, 'second'],
      [3, ana, 'third'],
    ]);
  });

  it('keeps the copy as it was when the message is edited and deleted afterwards', async () => {
    // GIVEN ben's message to ana, and a later one in the same group
    const [ana, ben, cat] = users('ana', 'ben', 'cat');
    const created = await call(
      createConversation,
      { action: 'createConversation', clientRequestId: randomUUID(), members: [ben, cat], title: 'Trio' },
      ana,
    );
    const group = String(created?.conversationId);
    const seq = await send(ben, { conversationId: group }, 'you will regret this');
    await send(cat, { conversationId: group }, 'calm down');

    // WHEN ana reports ben's message and the conversation, then ben edits his message and deletes it
    const one = await call(report, reportFrame('msg-1', group, { seq, note: 'a threat' }), ana);
    const whole = await call(report, reportFrame('conv-1', group, { reason: 'violence' }), cat);
    expect(
      await call(
        editMessage,
        { action: 'editMessage', conversationId: group, seq, content: 'just kidding' },
        ben,
      ),
    ).toMatchObject({ type: 'ack', seq });
    expect(
      await call(deleteMessage, { action: 'deleteMessage', conversationId: group, seq }, ben),
    ).toMatchObject({
      type: 'ack',
      seq,
    });

    // AND a retry of the first report that read the message before the edit but commits only now
    // (its transaction was slow) changes nothing: every put of it is conditional on nothing being there
    const late = await storeReport(
      {
        reportId: String(one?.reportId),
        reporterId: ana,
        clientRequestId: 'msg-1',
        conversationId: group,
        seq,
        reason: 'harassment',
        reportedAt: new Date().toISOString(),
        status: 'open',
        messageCount: 1,
      },
      [
        {
          conversationId: group,
          seq,
          messageId: 'm',
          senderId: ben,
          content: 'just kidding',
          createdAt: 'x',
          clientMessageId: 'c',
        },
      ],
    );
    expect(late).toBe('exists');

    // THEN both reports still hold the message as it was reported
    const oneCopies = await readCopies(String(one?.reportId));
    expect(oneCopies).toEqual([
      {
        conversationId: group,
        seq,
        messageId: expect.any(String),
        senderId: ben,
        content: 'you will regret this',
        createdAt: expect.any(String),
        clientMessageId: expect.any(String),
      },
    ]);
    const wholeCopies = await readCopies(String(whole?.reportId));
    expect(wholeCopies.map((copy) => [copy.seq, copy.content, copy.deleted ?? false])).toEqual([
      [seq, 'you will regret this', false],
      [seq + 1, 'calm down', false],
    ]);
    expect(await getReport(String(one?.reportId))).toMatchObject({ seq, note: 'a threat', messageCount: 1 });
    // AND the message itself is a tombstone now: the copy is the only evidence left
    expect(await call(report, reportFrame('msg-2', group, { seq }), cat)).toMatchObject({ type: 'ack' });
    expect(await readCopies(reportIdFor(cat, 'msg-2'))).toEqual([
      expect.objectContaining({ seq, content: '', deleted: true }),
    ]);
  });

  it('refuses a non-member with the shared forbidden, and a member naming a missing seq with not_found, storing nothing', async () => {
    const [ana, ben, eve] = users('ana', 'ben', 'eve');
    const dm = directConversationId(ana, ben);
    await send(ana, { to: ben }, 'hello');

    const answers = [
      await call(report, reportFrame('eve-1', dm), eve),
      await call(report, reportFrame('eve-2', dm, { seq: 1 }), eve),
      await call(report, reportFrame('eve-3', `grp_${randomUUID()}`), eve),
      await call(report, reportFrame('ana-1', dm, { seq: 2 }), ana),
    ];

    for (const answer of answers.slice(0, 3)) {
      expect(answer).toMatchObject({
        type: 'error',
        code: 'forbidden',
        message: 'not a member of this conversation',
        action: 'report',
      });
    }
    expect(answers[3]).toMatchObject({
      type: 'error',
      code: 'not_found',
      action: 'report',
      clientRequestId: 'ana-1',
    });
    expect(await reportItemsOf(eve)).toEqual([]);
    expect(await reportItemsOf(ana)).toEqual([]);
    for (const [userId, id] of [
      [eve, 'eve-1'],
      [eve, 'eve-2'],
      [eve, 'eve-3'],
      [ana, 'ana-1'],
    ] as const) {
      expect(await reportPartition(reportIdFor(userId, id))).toEqual([]);
    }
  });
});

describe('the operators’ queue', () => {
  it('lists open reports from the index, resolves once (concurrently too), then lists them resolved', async () => {
    // GIVEN two reports of ana's
    const [ana, ben] = users('ana', 'ben');
    const dm = directConversationId(ana, ben);
    const seq = await send(ben, { to: ana }, 'buy cheap watches');
    const scam = String((await call(report, reportFrame('q-1', dm, { seq, reason: 'scam' }), ana))?.reportId);
    const spam = String(
      (await call(report, reportFrame('q-2', dm, { reason: 'spam', note: 'again' }), ana))?.reportId,
    );

    // WHEN an operator lists the open ones
    const open = await listReports('open', 1_000);

    // THEN both are there, newest first, each with its copies
    const mine = open.reports.filter((item) => item.reporterId === ana);
    expect(mine.map((item) => item.reportId)).toEqual([spam, scam]);
    expect(mine[1]).toMatchObject({
      reason: 'scam',
      seq,
      status: 'open',
      messages: [expect.objectContaining({ seq, senderId: ben, content: 'buy cheap watches' })],
    });
    expect(mine[0]).toMatchObject({ reason: 'spam', note: 'again', messageCount: 1 });

    // WHEN five operators resolve the scam report at once, each with their own note
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, (_, n) => resolveReport(scam, `op-${n}`, { note: `note ${n}` })),
    );

    // THEN one resolution stands; the others find it resolved and change nothing
    const won = outcomes.filter((outcome) => outcome.outcome === 'resolved');
    expect(won).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.outcome === 'already_resolved')).toHaveLength(4);
    const stored = await getReport(scam);
    expect(stored).toMatchObject({ status: 'resolved', resolvedAt: expect.any(String) });
    expect(won[0]).toMatchObject({
      report: { resolvedBy: stored?.resolvedBy, resolutionNote: stored?.resolutionNote },
    });
    expect(stored?.resolutionNote).toBe(`note ${stored?.resolvedBy?.slice(3)}`);
    for (const outcome of outcomes) expect(outcome).toMatchObject({ report: stored });

    // AND the lists move it from open to resolved, with its copy
    const resolvedIds = (await listReports('resolved', 1_000)).reports.map((item) => item.reportId);
    expect(resolvedIds).toContain(scam);
    expect(resolvedIds).not.toContain(spam);
    const stillOpen = (await listReports('open', 1_000)).reports.map((item) => item.reportId);
    expect(stillOpen).toContain(spam);
    expect(stillOpen).not.toContain(scam);
  });

  it('pages a long queue: a limit of 2 gives the newest 2 and says there are more', async () => {
    const [ana, ben] = users('ana', 'ben');
    const dm = directConversationId(ana, ben);
    await send(ana, { to: ben }, 'hi');
    for (const id of ['p-1', 'p-2', 'p-3']) await call(report, reportFrame(id, dm), ben);

    const page = await listReports('open', 2);

    expect(page.reports).toHaveLength(2);
    expect(page.more).toBe(true);
    const [newest, next] = page.reports.map((item) => item.reportedAt);
    expect(String(newest) >= String(next)).toBe(true);
  });

  it('answers not_found for a report that does not exist, and refuses what cannot be a report id', async () => {
    expect(await resolveReport(reportIdFor('nobody', 'nothing'), 'op')).toEqual({ outcome: 'not_found' });
    await expect(resolveReport('REPORT#x', 'op')).rejects.toThrow(/not a report id/);
    await expect(listReports('open', 0)).rejects.toThrow(/limit/);
  });
});

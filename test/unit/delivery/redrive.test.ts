/**
 * The redrive core (admin/redrive.ts) with its ports faked: how queue entries are read and
 * described, the stream records rebuilt from the table's items (which the delivery handler reads back
 * as the same events), and the rule that an entry leaves the queue only once its redelivery succeeded.
 * The AWS ports are in test/unit/admin/redrive.test.ts, the local stack's in test/e2e/redrive.test.ts.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  type DeliveryOutcome,
  deliveryOutcome,
  describeFailure,
  parseFailureBody,
  type QueuedFailure,
  RETRY_FAILED_AFTER_MS,
  type RedriveQueue,
  type RedriveSources,
  recordsFor,
  redrive,
  type StreamRead,
} from '../../../admin/redrive.ts';
import type { ItemKey } from '../../../functions/adapters/keys.ts';
import type { FailedDelivery } from '../../../functions/delivery/failed-delivery.ts';
import { toDeliveryEvent } from '../../../functions/stream/records.ts';
import { messageInsert } from '../../support/stream-events.ts';

const MESSAGE_ENTRY: FailedDelivery = {
  version: 1,
  source: 'parley.delivery',
  class: 'permanent',
  kind: 'message',
  conversationId: 'd_alice_bob',
  seq: 7,
  messageId: 'm-7',
  recipients: ['bob'],
  failures: [
    {
      userId: 'bob',
      connectionId: 'CfQ3dXy2DoECKbQ=',
      class: 'permanent',
      error: 'ForbiddenException',
      status: 403,
    },
  ],
  attempts: 1,
  eventId: 'c81e728d',
  recordedAt: '2026-12-01T10:30:00.000Z',
};

const POINTER = {
  requestContext: {
    requestId: 'r-1',
    functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:delivery',
    condition: 'RetryAttemptsExhausted',
    approximateInvokeCount: 11,
  },
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  version: '1.0',
  timestamp: '2026-12-01T10:31:00.000Z',
  DDBStreamBatchInfo: {
    shardId: 'shardId-00001',
    startSequenceNumber: '100',
    endSequenceNumber: '102',
    approximateArrivalOfFirstRecord: '2026-12-01T10:29:00.000Z',
    approximateArrivalOfLastRecord: '2026-12-01T10:29:01.000Z',
    batchSize: 3,
    streamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/parley/stream/2026-11-23T09:00:00.000',
  },
};

const MESSAGE_ITEM = {
  PK: 'CONV#d_alice_bob',
  SK: 'MSG#000000000007',
  type: 'message',
  conversationId: 'd_alice_bob',
  seq: 7,
  messageId: 'm-7',
  senderId: 'alice',
  senderName: 'Alice',
  content: 'lunch?',
  createdAt: '2026-12-01T10:29:59.000Z',
  clientMessageId: 'c-7',
  originConnectionId: 'CfQ3bfF3DoECJqQ=',
};

const FIXED = { now: () => new Date('2026-12-02T08:00:00.000Z'), newId: () => 'id-1' };

function table(items: Record<string, unknown>[]): RedriveSources {
  return {
    readItem: async (key: ItemKey) => items.find((item) => item.PK === key.PK && item.SK === key.SK),
    readStream: async (): Promise<StreamRead> => ({ unreadable: 'TrimmedDataAccessException' }),
  };
}

/** A queue holding `bodies`, recording what the redrive removed and released. */
function fakeQueue(bodies: string[]) {
  const entries: QueuedFailure[] = bodies.map((body, i) => ({ id: `q-${i}`, body }));
  const removed: string[] = [];
  const released: string[] = [];
  let next = 0;
  const queue: RedriveQueue = {
    async receive(max) {
      const page = entries.slice(next, next + max);
      next += page.length;
      return page;
    },
    async remove(entry) {
      removed.push(entry.id);
    },
    async release(kept) {
      released.push(...kept.map((entry) => entry.id));
    },
  };
  return { queue, removed, released };
}

describe('queue entries', () => {
  it('reads and describes the handler’s entries and the mapping’s stream pointers, in one line each', () => {
    expect(describeFailure(parseFailureBody(JSON.stringify(MESSAGE_ENTRY)))).toBe(
      'message d_alice_bob seq 7 messageId m-7 to bob: failed for good: ' +
        'bob connection CfQ3dXy2DoECKbQ= ForbiddenException 403, recorded 2026-12-01T10:30:00.000Z',
    );
    const read = {
      ...MESSAGE_ENTRY,
      kind: 'read',
      messageId: undefined,
      readerId: 'bob',
      recipients: ['alice'],
    };
    expect(
      describeFailure(
        parseFailureBody(JSON.stringify({ ...read, class: 'gave_up', attempts: 5, failures: [] })),
      ),
    ).toBe(
      'read d_alice_bob seq 7 by bob to alice: gave up after 5 attempt(s), recorded 2026-12-01T10:30:00.000Z',
    );
    expect(describeFailure(parseFailureBody(JSON.stringify(POINTER)))).toBe(
      'stream batch on shardId-00001, sequence numbers 100–102 (3 record(s), first written about ' +
        '2026-12-01T10:29:00.000Z): RetryAttemptsExhausted after 11 invocation(s), recorded 2026-12-01T10:31:00.000Z',
    );
    expect(parseFailureBody('not json')).toMatchObject({ kind: 'unknown' });
    expect(parseFailureBody('{"source":"elsewhere"}')).toMatchObject({ kind: 'unknown' });
  });
});

describe('records rebuilt from the table', () => {
  it('make the same message event as the stream’s own INSERT, under a redrive eventID', async () => {
    const rebuilt = await recordsFor(
      parseFailureBody(JSON.stringify(MESSAGE_ENTRY)),
      table([MESSAGE_ITEM]),
      FIXED,
    );

    expect(rebuilt).toMatchObject({ from: 'table' });
    const [record] = 'records' in rebuilt ? rebuilt.records : [];
    expect(record).toMatchObject({
      eventID: 'redrive:id-1',
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
    });
    expect(record?.dynamodb?.Keys).toEqual({ PK: { S: 'CONV#d_alice_bob' }, SK: { S: 'MSG#000000000007' } });
    const streamed = messageInsert(MESSAGE_ITEM);
    expect(toDeliveryEvent(record ?? {})).toEqual(toDeliveryEvent(streamed));
    expect(toDeliveryEvent(record ?? {})).toMatchObject({
      kind: 'message',
      message: { seq: 7, messageId: 'm-7' },
    });
  });

  it('deliver a read as the reader’s cursor stands now, and a conversation from its META item', async () => {
    const member = {
      PK: 'CONV#d_alice_bob',
      SK: 'MEMBER#bob',
      type: 'member',
      conversationId: 'd_alice_bob',
      userId: 'bob',
      readSeq: 9,
      readAt: '2026-12-01T11:00:00.000Z',
      lastSeq: 9,
      changedBy: 'delivery',
    };
    const meta = {
      PK: 'CONV#d_alice_bob',
      SK: 'META',
      type: 'conversation',
      conversationId: 'd_alice_bob',
      kind: 'direct',
      members: ['alice', 'bob'],
      title: null,
      createdAt: '2026-11-20T08:00:00.000Z',
    };
    const sources = table([member, meta]);

    const read = await recordsFor(
      parseFailureBody(
        JSON.stringify({ ...MESSAGE_ENTRY, kind: 'read', readerId: 'bob', messageId: undefined }),
      ),
      sources,
      FIXED,
    );
    const created = await recordsFor(
      parseFailureBody(JSON.stringify({ ...MESSAGE_ENTRY, kind: 'conversation', seq: undefined })),
      sources,
      FIXED,
    );

    expect(toDeliveryEvent(('records' in read ? read.records[0] : undefined) ?? {})).toEqual({
      kind: 'read',
      read: {
        type: 'read',
        conversationId: 'd_alice_bob',
        userId: 'bob',
        seq: 9,
        readAt: '2026-12-01T11:00:00.000Z',
      },
    });
    expect(toDeliveryEvent(('records' in created ? created.records[0] : undefined) ?? {})).toMatchObject({
      kind: 'conversation',
      conversation: { conversationId: 'd_alice_bob', members: ['alice', 'bob'] },
    });
  });

  it('deliver an accepted request from the acceptor’s item, only once it is no request any more', async () => {
    const acceptor = {
      PK: 'CONV#d_alice_bob',
      SK: 'MEMBER#bob',
      type: 'member',
      conversationId: 'd_alice_bob',
      userId: 'bob',
      sent: true,
      peerSent: true,
      changedBy: 'delivery',
    };
    const entry = parseFailureBody(
      JSON.stringify({
        ...MESSAGE_ENTRY,
        kind: 'accepted',
        acceptorId: 'bob',
        seq: undefined,
        messageId: undefined,
      }),
    );

    const rebuilt = await recordsFor(entry, table([acceptor]), FIXED);

    expect(describeFailure(entry)).toContain('request d_alice_bob accepted by bob');
    expect(toDeliveryEvent(('records' in rebuilt ? rebuilt.records[0] : undefined) ?? {})).toEqual({
      kind: 'accepted',
      conversationId: 'd_alice_bob',
      userId: 'bob',
    });
    expect(await recordsFor(entry, table([{ ...acceptor, pendingRequest: true }]), FIXED)).toEqual({
      unavailable: 'bob has no accepted request in d_alice_bob',
    });
  });

  it('say why when the table or the stream no longer has what the entry names', async () => {
    const entry = parseFailureBody(JSON.stringify(MESSAGE_ENTRY));
    expect(await recordsFor(entry, table([]))).toEqual({
      unavailable: 'message d_alice_bob seq 7 is not in the table',
    });
    expect(await recordsFor(entry, table([{ ...MESSAGE_ITEM, messageId: 'other' }]))).toEqual({
      unavailable: 'seq 7 of d_alice_bob is another message than the entry names',
    });
    expect(await recordsFor(parseFailureBody(JSON.stringify(POINTER)), table([]))).toEqual({
      unavailable: expect.stringMatching(
        /TrimmedDataAccessException.*names no keys.*clients get them with sync/,
      ),
    });
  });

  it('replay a batch’s stream records under redrive eventIDs, keeping their sequence numbers', async () => {
    const streamed = messageInsert(MESSAGE_ITEM, '101');
    const sources: RedriveSources = {
      readItem: async () => undefined,
      readStream: async (batch) => {
        expect(batch).toMatchObject({
          shardId: 'shardId-00001',
          startSequenceNumber: '100',
          endSequenceNumber: '102',
        });
        return { records: [streamed] };
      },
    };

    const rebuilt = await recordsFor(parseFailureBody(JSON.stringify(POINTER)), sources, FIXED);

    expect(rebuilt).toEqual({
      from: 'stream',
      records: [{ ...streamed, eventID: `redrive:${streamed.eventID}` }],
    });
  });
});

describe('a redrive', () => {
  const invoked: DynamoDBStreamEvent[] = [];
  const answering =
    (...outcomes: DeliveryOutcome[]) =>
    async (event: DynamoDBStreamEvent): Promise<DeliveryOutcome> => {
      invoked.push(event);
      return outcomes.shift() ?? { ok: true };
    };

  it('removes an entry only once delivery succeeded, and keeps (and releases) the others', async () => {
    invoked.length = 0;
    const { queue, removed, released } = fakeQueue([
      JSON.stringify(MESSAGE_ENTRY),
      JSON.stringify({ ...MESSAGE_ENTRY, seq: 8 }),
      JSON.stringify({ ...MESSAGE_ENTRY, seq: 9 }),
      'garbage',
    ]);
    const items = [7, 8, 9].map((seq) => ({ ...MESSAGE_ITEM, seq, SK: `MSG#00000000000${seq}` }));

    const results = await redrive({
      queue,
      sources: table(items),
      invoke: answering({ ok: true }, { ok: false, reason: 'delivery failed again' }),
      limit: 100,
      dryRun: false,
      retryFailedAfterMs: 0,
    });

    expect(results.map((result) => [result.id, result.outcome])).toEqual([
      ['q-0', 'redelivered'],
      ['q-1', 'failed'],
      ['q-2', 'redelivered'],
      ['q-3', 'not_redeliverable'],
    ]);
    expect(results[1]?.reason).toBe('delivery failed again');
    expect(invoked).toHaveLength(3);
    expect(removed).toEqual(['q-0', 'q-2']);
    expect(released).toEqual(['q-1', 'q-3']);
  });

  it('counts a thrown invocation or a failed removal as a failure, and stops at the limit', async () => {
    const { queue, removed } = fakeQueue([JSON.stringify(MESSAGE_ENTRY), JSON.stringify(MESSAGE_ENTRY), 'x']);
    let calls = 0;
    const results = await redrive({
      queue: {
        ...queue,
        remove: async (entry) => {
          if (entry.id === 'q-1') throw new Error('AccessDenied');
          await queue.remove(entry);
        },
      },
      sources: table([MESSAGE_ITEM]),
      invoke: async () => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
        return { ok: true };
      },
      limit: 2,
      dryRun: false,
      retryFailedAfterMs: 0,
    });

    expect(results).toMatchObject([
      { id: 'q-0', outcome: 'failed', reason: 'could not run delivery: TimeoutError: socket hang up' },
      {
        id: 'q-1',
        outcome: 'failed',
        reason: expect.stringMatching(/^redelivered, but it could not be removed/),
      },
    ]);
    expect(removed).toEqual([]);
  });

  it('tries what failed once more after the wait, and removes it when that try succeeds', async () => {
    // GIVEN two entries whose first redelivery fails (a recipient's connection inside `$connect`, say),
    // and a third that succeeds at once
    invoked.length = 0;
    const { queue, removed, released } = fakeQueue(
      [7, 8, 9].map((seq) => JSON.stringify({ ...MESSAGE_ENTRY, seq })),
    );
    const items = [7, 8, 9].map((seq) => ({ ...MESSAGE_ITEM, seq, SK: `MSG#00000000000${seq}` }));
    const waits: number[] = [];
    const stillConnecting = { ok: false, reason: 'delivery failed again on 1 of 1 record(s)' } as const;

    // WHEN redriven, with the second try of seq 7 succeeding and that of seq 8 failing again
    const results = await redrive({
      queue,
      sources: table(items),
      invoke: answering(stillConnecting, stillConnecting, { ok: true }, { ok: true }, stillConnecting),
      limit: 100,
      dryRun: false,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });

    // THEN the wait came once, after the first pass, and each failed entry was tried once more
    expect(waits).toEqual([RETRY_FAILED_AFTER_MS]);
    expect(invoked.map((event) => event.Records[0]?.dynamodb?.NewImage?.seq?.N)).toEqual([
      '7',
      '8',
      '9',
      '7',
      '8',
    ]);
    expect(results.map((result) => [result.id, result.outcome])).toEqual([
      ['q-0', 'redelivered'],
      ['q-1', 'failed'],
      ['q-2', 'redelivered'],
    ]);
    expect(results[0]?.reason).toBe(
      'redelivered on the second try, 6 s after the first failed (delivery failed again on 1 of 1 record(s))',
    );
    expect(results[1]?.reason).toBe('failed twice, 6 s apart: delivery failed again on 1 of 1 record(s)');
    expect(removed).toEqual(['q-2', 'q-0']);
    expect(released).toEqual(['q-1']);
  });

  it('in a dry run reads what it would redeliver, and invokes and removes nothing', async () => {
    invoked.length = 0;
    const { queue, removed, released } = fakeQueue([JSON.stringify(MESSAGE_ENTRY)]);

    const results = await redrive({
      queue,
      sources: table([MESSAGE_ITEM]),
      invoke: answering(),
      limit: 100,
      dryRun: true,
    });

    expect(results).toMatchObject([{ outcome: 'would_redeliver', from: 'table', records: 1 }]);
    expect(invoked).toEqual([]);
    expect(removed).toEqual([]);
    expect(released).toEqual(['q-0']);
  });
});

describe('the handler’s answer', () => {
  it('is a success only without batchItemFailures', () => {
    const event = { Records: [messageInsert()] };
    expect(deliveryOutcome({ batchItemFailures: [] }, event)).toEqual({ ok: true });
    expect(deliveryOutcome(undefined, event)).toEqual({ ok: true });
    expect(deliveryOutcome({ batchItemFailures: [{ itemIdentifier: '1' }] }, event)).toEqual({
      ok: false,
      reason: 'delivery failed again on 1 of 1 record(s) (its error lines name the eventID)',
    });
  });
});

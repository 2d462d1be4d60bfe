/**
 * The events function (functions/events/handler.ts, publish.ts) against a mocked EventBridge: each
 * record that makes an event is one entry of `source: "parley"` on the stack's bus, 10 entries a
 * PutEvents call; entries that fail (`FailedEntryCount`) or whose call fails are put again, alone and
 * unchanged (same detail, same `id`); and a record whose entry still fails is reported in
 * `batchItemFailures`, so that Lambda retries from it.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.EVENT_BUS_NAME = 'parley-test-events';
  process.env.EVENT_CONTENT = '';
});

import { EVENT_SOURCE } from '../../../definitions/events.ts';
import { EVENT_CONTENT, handler } from '../../../functions/events/handler.ts';
import { loadFixture } from '../../support/fixtures.ts';
import { messageInsert, readModify, streamEvent } from '../../support/stream-events.ts';

const bus = mockClient(EventBridgeClient);

/** Message `seq` on its own stream record (its eventID and sequence number follow from seq). */
const message = (seq: number) => ({
  ...messageInsert({ seq, messageId: `m-${seq}` }, String(1000 + seq)),
  eventID: `event-${seq}`,
});

const putCalls = () => bus.commandCalls(PutEventsCommand).map((call) => call.args[0].input.Entries ?? []);

/** Answers every PutEvents: each entry put, unless `fail` names its detail's id (with that code). */
function answer(fail: (id: string, call: number) => string | undefined = () => undefined): void {
  let call = 0;
  bus.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    call += 1;
    const entries: PutEventsResultEntry[] = input.Entries.map((entry) => {
      const code = fail(String(JSON.parse(entry.Detail ?? '{}').id), call);
      return code === undefined ? { EventId: crypto.randomUUID() } : { ErrorCode: code, ErrorMessage: code };
    });
    return { FailedEntryCount: entries.filter((entry) => entry.ErrorCode).length, Entries: entries };
  });
}

beforeEach(() => bus.reset());
afterEach(() => bus.reset());

describe('the events function', () => {
  it('is off content by default', () => {
    expect(EVENT_CONTENT).toBe(false);
  });

  it("puts one entry per record that makes an event on the stack's bus: source parley, its detail-type, the detail with its id", async () => {
    answer();
    const report = loadFixture<DynamoDBRecord>('stream-report-insert');
    const response = await handler(streamEvent(message(1), readModify(), report));
    expect(response).toEqual({ batchItemFailures: [] });
    const [entries = []] = putCalls();
    expect(putCalls()).toHaveLength(1);
    expect(entries.map(({ Detail, ...rest }) => ({ ...rest, detail: JSON.parse(Detail ?? '') }))).toEqual([
      {
        EventBusName: 'parley-test-events',
        Source: EVENT_SOURCE,
        DetailType: 'message.created',
        Time: new Date(1795429805 * 1000),
        detail: expect.objectContaining({ id: 'event-1', seq: 1, version: 1_000_000, messageId: 'm-1' }),
      },
      {
        EventBusName: 'parley-test-events',
        Source: EVENT_SOURCE,
        DetailType: 'report.created',
        Time: new Date(1795430100 * 1000),
        detail: expect.objectContaining({ id: report.eventID, reportId: 'rp_9b2f4c1d7e3a' }),
      },
    ]);
    expect(entries[0]?.Detail).not.toContain('lunch');
  });

  it('sends at most 10 entries a call', async () => {
    answer();
    const records = Array.from({ length: 25 }, (_, i) => message(i + 1));
    expect(await handler(streamEvent(...records))).toEqual({ batchItemFailures: [] });
    expect(putCalls().map((entries) => entries.length)).toEqual([10, 10, 5]);
    const ids = putCalls().flatMap((entries) => entries.map((entry) => JSON.parse(entry.Detail ?? '').id));
    expect(ids).toEqual(records.map((record) => record.eventID));
  });

  it('puts again, alone and unchanged, an entry EventBridge failed (FailedEntryCount), and reports nothing once it is put', async () => {
    answer((id, call) => (id === 'event-2' && call === 1 ? 'ThrottlingException' : undefined));
    expect(await handler(streamEvent(message(1), message(2), message(3)))).toEqual({ batchItemFailures: [] });
    const [first = [], second = []] = putCalls();
    expect(putCalls()).toHaveLength(2);
    expect(second).toEqual([first[1]]);
  });

  it('puts again every entry of a call that failed whole', async () => {
    let call = 0;
    bus.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
      call += 1;
      if (call === 1) throw Object.assign(new Error('Service unavailable'), { name: 'InternalException' });
      return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: 'ok' })) };
    });
    expect(await handler(streamEvent(message(1), message(2)))).toEqual({ batchItemFailures: [] });
    expect(putCalls()).toEqual([putCalls()[0], putCalls()[0]]);
  });

  it('reports the record of an entry that keeps failing (3 tries), and only that one', async () => {
    answer((id) => (id === 'event-2' ? 'InternalFailure' : undefined));
    const response = await handler(streamEvent(message(1), message(2), message(3)));
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '1002' }] });
    expect(putCalls().map((entries) => entries.length)).toEqual([3, 1, 1]);
  });

  it('does not start another round when the invocation is short of time: the record is left to Lambda', async () => {
    answer((id) => (id === 'event-1' ? 'InternalFailure' : undefined));
    const response = await handler(streamEvent(message(1)), { getRemainingTimeInMillis: () => 5_000 });
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '1001' }] });
    expect(putCalls()).toHaveLength(1);
  });

  it('calls nothing for a batch that makes no event', async () => {
    answer();
    expect(await handler(streamEvent(readModify()))).toEqual({ batchItemFailures: [] });
    expect(putCalls()).toEqual([]);
  });
});

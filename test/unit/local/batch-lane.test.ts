import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { BatchLane, type BatchSettings } from '../../../local/stream/batch-lane.ts';

const settings: BatchSettings = {
  batchSize: 100,
  bisectBatchOnError: true,
  retryAttempts: 2,
  maxRecordAgeSeconds: 3600,
};

function records(count: number, createdAt = Math.floor(Date.now() / 1000)): DynamoDBRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    eventID: `e${i + 1}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: createdAt,
      Keys: { PK: { S: 'CONV#c1' }, SK: { S: `MSG#${i + 1}` } },
      SequenceNumber: String(100 + i + 1),
    },
  }));
}

/** Runs a lane over `input` with `handler`, returning each batch's sequence numbers and what was discarded. */
async function run(
  input: DynamoDBRecord[],
  handler: (batch: DynamoDBRecord[], call: number) => DynamoDBBatchResponse | undefined,
  laneSettings = settings,
) {
  const calls: string[][] = [];
  const discarded: string[] = [];
  const lane = new BatchLane({
    settings: laneSettings,
    invoke: async (batch) => {
      calls.push(batch.map((r) => r.dynamodb?.SequenceNumber ?? ''));
      return handler(batch, calls.length);
    },
    events: {
      delivered: () => undefined,
      failed: () => undefined,
      discarded: (dropped) => discarded.push(...dropped.map((r) => r.dynamodb?.SequenceNumber ?? '')),
    },
    retryDelayMs: () => 0,
    signal: new AbortController().signal,
  });
  lane.push(input);
  await lane.idle();
  return { calls, discarded };
}

describe('BatchLane', () => {
  it('retries from the failed record only when a batch reports one failure', async () => {
    const { calls, discarded } = await run(records(5), (_batch, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: '103' }] } : { batchItemFailures: [] },
    );
    expect(calls).toEqual([
      ['101', '102', '103', '104', '105'],
      ['103', '104', '105'],
    ]);
    expect(discarded).toEqual([]);
  });

  it('retries from the lowest failed sequence number when several fail', async () => {
    const { calls } = await run(records(4), (_batch, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: '104' }, { itemIdentifier: '102' }] } : undefined,
    );
    expect(calls[1]).toEqual(['102', '103', '104']);
  });

  it('bisects a batch whose handler throws until the bad record is alone, then discards it after the retries', async () => {
    const { calls, discarded } = await run(records(4), (batch) => {
      if (batch.some((r) => r.dynamodb?.SequenceNumber === '103')) throw new Error('bad record');
      return undefined;
    });
    expect(calls).toEqual([
      ['101', '102', '103', '104'],
      ['101', '102'],
      ['103', '104'],
      ['103'],
      ['103'],
      ['103'],
      ['104'],
    ]);
    expect(discarded).toEqual(['103']);
  });

  it('retries a whole batch without bisecting when bisecting is off', async () => {
    const { calls, discarded } = await run(
      records(2),
      () => {
        throw new Error('down');
      },
      { ...settings, bisectBatchOnError: false, retryAttempts: 1 },
    );
    expect(calls).toEqual([
      ['101', '102'],
      ['101', '102'],
    ]);
    expect(discarded).toEqual(['101', '102']);
  });

  it('treats an unknown item identifier as a failure of the whole batch', async () => {
    const { calls } = await run(records(2), (_batch, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: 'nope' }] } : undefined,
    );
    expect(calls).toEqual([['101', '102'], ['101'], ['102']]);
  });

  it('discards records older than the maximum record age without invoking', async () => {
    const old = records(2, Math.floor(Date.now() / 1000) - 7200);
    const { calls, discarded } = await run(old, () => undefined);
    expect(calls).toEqual([]);
    expect(discarded).toEqual(['101', '102']);
  });

  it('invokes with at most batchSize records', async () => {
    const { calls } = await run(records(5), () => undefined, { ...settings, batchSize: 2 });
    expect(calls.map((batch) => batch.length)).toEqual([2, 2, 1]);
  });

  it('delivers records pushed at any moment around the end of a drain (no stranded records)', async () => {
    // The lane must start a new drain for a push that lands between its last queue check and the
    // moment it marks itself idle: try every microtask offset around that end.
    for (let offset = 0; offset < 20; offset += 1) {
      const delivered: string[] = [];
      const lane = new BatchLane({
        settings,
        invoke: async (batch) => {
          delivered.push(...batch.map((r) => r.dynamodb?.SequenceNumber ?? ''));
          return undefined;
        },
        events: { delivered: () => undefined, failed: () => undefined, discarded: () => undefined },
        retryDelayMs: () => 0,
        signal: new AbortController().signal,
      });
      const [first, second] = records(2);
      lane.push([first as DynamoDBRecord]);
      for (let tick = 0; tick < offset; tick += 1) await Promise.resolve();
      lane.push([second as DynamoDBRecord]);
      await lane.idle();
      expect({ offset, delivered }).toEqual({ offset, delivered: ['101', '102'] });
    }
  });

  it('shrunk() waits for the queue to get shorter, and resolves at once for an idle lane', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const lane = new BatchLane({
      settings: { ...settings, batchSize: 1 },
      invoke: async () => {
        await held;
        return undefined;
      },
      events: { delivered: () => undefined, failed: () => undefined, discarded: () => undefined },
      retryDelayMs: () => 0,
      signal: new AbortController().signal,
    });
    await lane.shrunk();
    lane.push(records(2));
    let woke = false;
    const shrunk = lane.shrunk().then(() => {
      woke = true;
    });
    for (let tick = 0; tick < 20; tick += 1) await Promise.resolve();
    expect(woke).toBe(false);
    release();
    await shrunk;
    expect(lane.queued).toBe(1);
    await lane.idle();
    expect(lane.queued).toBe(0);
  });

  it('says what it is doing: invoking, then waiting to retry with the attempts counted, then discarded', async () => {
    const abort = new AbortController();
    let fail: (error: Error) => void = () => undefined;
    let calls = 0;
    const lane = new BatchLane({
      settings: { ...settings, bisectBatchOnError: false, retryAttempts: 1 },
      invoke: () => {
        calls += 1;
        return new Promise((_, reject) => {
          fail = reject;
        });
      },
      events: { delivered: () => undefined, failed: () => undefined, discarded: () => undefined },
      // The first retry waits until the test moves on; the lane is stopped by the abort at the end.
      retryDelayMs: (attempt) => (attempt === 1 ? 60_000 : 0),
      signal: abort.signal,
    });
    expect(lane.state).toEqual({
      queued: 0,
      invoking: false,
      retrying: false,
      attempts: 0,
      discardedBatches: 0,
    });

    lane.push(records(2));
    expect(lane.state).toMatchObject({ queued: 2, invoking: true, retrying: false, attempts: 0 });
    fail(new Error('crashed'));
    while (!lane.state.retrying) await new Promise((resolve) => setImmediate(resolve));
    expect(lane.state).toEqual({
      queued: 2,
      invoking: false,
      retrying: true,
      attempts: 1,
      discardedBatches: 0,
    });

    abort.abort();
    await lane.idle();
    expect(lane.state).toMatchObject({ invoking: false, retrying: false });
    expect(calls).toBe(1);
  });
});

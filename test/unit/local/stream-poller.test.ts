import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DELIVERY_STREAM } from '../../../definitions/stream.ts';
import { setLocalLogSink } from '../../../local/log.ts';
import { MAX_QUEUED, type OnFailureRecord, StreamPoller } from '../../../local/stream/stream-poller.ts';

const STREAM_ARN =
  'arn:aws:dynamodb:us-east-1:000000000000:table/parley-local/stream/2026-01-01T00:00:00.000';
const streams = mockClient(DynamoDBStreamsClient);
setLocalLogSink(() => undefined);

afterEach(() => {
  streams.reset();
});

function messageRecord(sequenceNumber: string, conversation = 'c1'): _Record {
  return {
    eventID: `id-${sequenceNumber}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: new Date(),
      Keys: { PK: { S: `CONV#${conversation}` }, SK: { S: `MSG#${sequenceNumber}` } },
      NewImage: {
        PK: { S: `CONV#${conversation}` },
        SK: { S: `MSG#${sequenceNumber}` },
        type: { S: 'message' },
        blob: { B: new Uint8Array([1, 2, 3]) },
      },
      SequenceNumber: sequenceNumber,
      SizeBytes: 42,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

function poller(
  startingPosition: 'LATEST' | 'TRIM_HORIZON',
  invoke: (records: DynamoDBRecord[]) => Promise<void>,
) {
  return new StreamPoller({
    client: new DynamoDBStreamsClient({ region: 'us-east-1' }),
    streamArn: STREAM_ARN,
    region: 'us-east-1',
    partitionKey: 'PK',
    settings: { ...DELIVERY_STREAM, startingPosition },
    invoke: async (records) => {
      await invoke(records);
      return { batchItemFailures: [] };
    },
    pollIntervalMs: 1,
    shardRefreshMs: 5,
    retryDelayMs: () => 0,
  });
}

describe('StreamPoller', () => {
  it('delivers a parent shard completely before reading its child, whatever order DescribeStream lists them in', async () => {
    const log: string[] = [];
    streams.on(DescribeStreamCommand).resolves({
      StreamDescription: {
        Shards: [
          {
            ShardId: 'child',
            ParentShardId: 'parent',
            SequenceNumberRange: { StartingSequenceNumber: '200' },
          },
          {
            ShardId: 'parent',
            SequenceNumberRange: { StartingSequenceNumber: '100', EndingSequenceNumber: '199' },
          },
        ],
      },
    });
    streams.on(GetShardIteratorCommand).callsFake((input: { ShardId: string; ShardIteratorType: string }) => {
      log.push(`iterator ${input.ShardId} ${input.ShardIteratorType}`);
      return { ShardIterator: `it-${input.ShardId}` };
    });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'it-parent' })
      .resolves({ Records: [messageRecord('101'), messageRecord('102')], NextShardIterator: undefined })
      .on(GetRecordsCommand, { ShardIterator: 'it-child' })
      .resolves({ Records: [messageRecord('201')], NextShardIterator: 'it-child-idle' })
      .on(GetRecordsCommand, { ShardIterator: 'it-child-idle' })
      .resolves({ Records: [], NextShardIterator: 'it-child-idle' });

    let childDelivered: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      childDelivered = resolve;
    });
    const subject = poller('TRIM_HORIZON', async (records) => {
      const sequenceNumbers = records.map((r) => r.dynamodb?.SequenceNumber).join(',');
      log.push(`delivered ${sequenceNumbers}`);
      if (sequenceNumbers === '201') childDelivered();
    });
    await subject.start();
    await done;
    await subject.stop();

    expect(log).toEqual([
      'iterator parent TRIM_HORIZON',
      'delivered 101,102',
      'iterator child TRIM_HORIZON',
      'delivered 201',
    ]);
  });

  it('starts open shards at LATEST and reads a child discovered later from its beginning', async () => {
    const iterators: string[] = [];
    streams
      .on(DescribeStreamCommand)
      .resolvesOnce({
        StreamDescription: {
          Shards: [{ ShardId: 'old', SequenceNumberRange: { StartingSequenceNumber: '100' } }],
        },
      })
      .resolves({
        StreamDescription: {
          Shards: [
            {
              ShardId: 'old',
              SequenceNumberRange: { StartingSequenceNumber: '100', EndingSequenceNumber: '199' },
            },
            { ShardId: 'new', ParentShardId: 'old', SequenceNumberRange: { StartingSequenceNumber: '200' } },
          ],
        },
      });
    streams.on(GetShardIteratorCommand).callsFake((input: { ShardId: string; ShardIteratorType: string }) => {
      iterators.push(`${input.ShardId} ${input.ShardIteratorType}`);
      return { ShardIterator: `it-${input.ShardId}` };
    });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'it-old' })
      .resolves({ Records: [messageRecord('150')], NextShardIterator: undefined })
      .on(GetRecordsCommand, { ShardIterator: 'it-new' })
      .resolves({ Records: [messageRecord('250')], NextShardIterator: 'it-new-idle' })
      .on(GetRecordsCommand, { ShardIterator: 'it-new-idle' })
      .resolves({ Records: [], NextShardIterator: 'it-new-idle' });

    const delivered: DynamoDBRecord[] = [];
    let sawChild: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      sawChild = resolve;
    });
    const subject = poller('LATEST', async (records) => {
      delivered.push(...records);
      if (records.some((r) => r.dynamodb?.SequenceNumber === '250')) sawChild();
    });
    await subject.start();
    await done;
    await subject.stop();

    expect(iterators).toEqual(['old LATEST', 'new TRIM_HORIZON']);
    expect(delivered.map((r) => r.dynamodb?.SequenceNumber)).toEqual(['150', '250']);
  });

  it('hands the handler Lambda-format records: eventSourceARN, epoch seconds, base64 binaries', async () => {
    streams.on(DescribeStreamCommand).resolves({
      StreamDescription: { Shards: [{ ShardId: 's', SequenceNumberRange: { StartingSequenceNumber: '1' } }] },
    });
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-s' });
    const source = messageRecord('7');
    streams
      .on(GetRecordsCommand, { ShardIterator: 'it-s' })
      .resolves({ Records: [source], NextShardIterator: 'it-s-idle' })
      .on(GetRecordsCommand, { ShardIterator: 'it-s-idle' })
      .resolves({ Records: [], NextShardIterator: 'it-s-idle' });
    let received: DynamoDBRecord[] = [];
    let got: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      got = resolve;
    });
    const subject = poller('TRIM_HORIZON', async (records) => {
      received = records;
      got();
    });
    await subject.start();
    await done;
    await subject.stop();

    expect(received).toEqual([
      {
        eventID: 'id-7',
        eventName: 'INSERT',
        eventVersion: '1.1',
        eventSource: 'aws:dynamodb',
        awsRegion: 'us-east-1',
        eventSourceARN: STREAM_ARN,
        dynamodb: {
          ApproximateCreationDateTime: Math.floor(
            (source.dynamodb?.ApproximateCreationDateTime?.getTime() ?? 0) / 1000,
          ),
          Keys: { PK: { S: 'CONV#c1' }, SK: { S: 'MSG#7' } },
          NewImage: { PK: { S: 'CONV#c1' }, SK: { S: 'MSG#7' }, type: { S: 'message' }, blob: { B: 'AQID' } },
          SequenceNumber: '7',
          SizeBytes: 42,
          StreamViewType: 'NEW_AND_OLD_IMAGES',
        },
      },
    ]);
  });

  it('drains 5,000 queued records of one conversation, waiting under back-pressure instead of spinning', async () => {
    const total = 5_000;
    const pageSize = 1_000;
    streams.on(DescribeStreamCommand).resolves({
      StreamDescription: { Shards: [{ ShardId: 's', SequenceNumberRange: { StartingSequenceNumber: '1' } }] },
    });
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'page-0' });
    let fetched = 0;
    let delivered = 0;
    const queuedAtEachRead: number[] = [];
    streams.on(GetRecordsCommand).callsFake((input: { ShardIterator: string }) => {
      queuedAtEachRead.push(fetched - delivered);
      const page = Number(input.ShardIterator.replace('page-', ''));
      if (page * pageSize >= total) return { Records: [], NextShardIterator: input.ShardIterator };
      const records = Array.from({ length: pageSize }, (_, i) =>
        messageRecord(String(100_000 + page * pageSize + i)),
      );
      fetched += records.length;
      return { Records: records, NextShardIterator: `page-${page + 1}` };
    });

    // Deliveries wait until the reader first meets back-pressure, then each takes a macrotask, like I/O:
    // a reader that spun on microtasks would starve them, and the guard below would stop it.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const order: string[] = [];
    let batches = 0;
    let waits = 0;
    const subject = new StreamPoller({
      client: new DynamoDBStreamsClient({ region: 'us-east-1' }),
      streamArn: STREAM_ARN,
      region: 'us-east-1',
      partitionKey: 'PK',
      // Four lanes, one busy (one conversation) and three idle: the case that used to spin.
      settings: { ...DELIVERY_STREAM, startingPosition: 'TRIM_HORIZON' },
      invoke: async (records) => {
        await gate;
        await new Promise((resolve) => setImmediate(resolve));
        batches += 1;
        delivered += records.length;
        order.push(...records.map((r) => r.dynamodb?.SequenceNumber ?? ''));
        if (delivered >= total) finished();
        return { batchItemFailures: [] };
      },
      pollIntervalMs: 1,
      shardRefreshMs: 1_000,
      retryDelayMs: () => 0,
      onBackPressure: () => {
        waits += 1;
        openGate();
        if (waits > 10 * total) finished();
      },
    });
    await subject.start();
    await done;
    await subject.stop();

    expect(waits).toBeGreaterThan(0);
    // Every wait ends with a lane's queue shrinking, i.e. a delivered batch: never more waits than batches.
    expect(waits).toBeLessThanOrEqual(batches);
    expect(delivered).toBe(total);
    expect(order).toEqual(Array.from({ length: total }, (_, i) => String(100_000 + i)));
    expect(Math.max(...queuedAtEachRead)).toBeLessThanOrEqual(MAX_QUEUED);
  });
});

describe('a batch the poller gives up', () => {
  it('goes to the on-failure destination as AWS records it: a pointer to the stream', async () => {
    streams.on(DescribeStreamCommand).resolves({
      StreamDescription: {
        Shards: [{ ShardId: 'only', SequenceNumberRange: { StartingSequenceNumber: '100' } }],
      },
    });
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-only' });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'it-only' })
      .resolves({ Records: [messageRecord('150')], NextShardIterator: 'it-idle' })
      .on(GetRecordsCommand, { ShardIterator: 'it-idle' })
      .resolves({ Records: [], NextShardIterator: 'it-idle' });
    let recorded: (record: OnFailureRecord) => void = () => undefined;
    const onFailure = new Promise<OnFailureRecord>((resolve) => {
      recorded = resolve;
    });
    const subject = new StreamPoller({
      client: new DynamoDBStreamsClient({ region: 'us-east-1' }),
      streamArn: STREAM_ARN,
      region: 'us-east-1',
      partitionKey: 'PK',
      settings: { ...DELIVERY_STREAM, startingPosition: 'TRIM_HORIZON', retryAttempts: 2 },
      // The handler crashes on every attempt.
      invoke: async () => {
        throw new Error('crashed');
      },
      onFailure: recorded,
      pollIntervalMs: 1,
      shardRefreshMs: 5,
      retryDelayMs: () => 0,
    });

    await subject.start();
    const record = await onFailure;
    await subject.stop();

    expect(record).toMatchObject({
      requestContext: {
        condition: 'RetryAttemptsExhausted',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:delivery',
      },
      version: '1.0',
      DDBStreamBatchInfo: {
        shardId: 'only',
        startSequenceNumber: '150',
        endSequenceNumber: '150',
        batchSize: 1,
        streamArn: STREAM_ARN,
      },
    });
  });

  it('reports what is in flight, and idle only once a fresh read finds nothing and every batch is through', async () => {
    streams.on(DescribeStreamCommand).resolves({
      StreamDescription: { Shards: [{ ShardId: 's', SequenceNumberRange: { StartingSequenceNumber: '1' } }] },
    });
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-s' });
    /** What the next reads find, one record each. */
    const written = [messageRecord('7')];
    streams.on(GetRecordsCommand).callsFake(() => ({
      Records: written.splice(0, 1),
      NextShardIterator: 'it-s',
    }));
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const invoked = new Promise<void>((resolve) => {
      started = resolve;
    });
    const delivered: string[] = [];
    const subject = poller('TRIM_HORIZON', async (records) => {
      started();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      delivered.push(...records.map((r) => r.dynamodb?.SequenceNumber ?? ''));
    });
    await subject.start();
    await invoked;

    // WHILE the handler holds record 7: caught up (nothing newer), but not idle
    const busy = await subject.status();
    expect(busy).toMatchObject({ idle: false, undiscoveredShards: 0 });
    expect(busy.shards).toEqual([
      {
        shardId: 's',
        status: 'reading',
        lastSequenceNumber: '7',
        caughtUp: true,
        queuedRecords: 1,
        invoking: 1,
        retrying: 0,
        attempts: 0,
        discardedBatches: 0,
      },
    ]);

    // ONCE it is delivered: idle
    release();
    while (delivered.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(await subject.status()).toMatchObject({
      idle: true,
      shards: [{ caughtUp: true, queuedRecords: 0, invoking: 0 }],
    });

    // AND a record written before the question is found by the fresh read: not idle until delivered
    written.push(messageRecord('8'));
    const behind = await subject.status();
    expect(behind.idle).toBe(false);
    expect(behind.shards[0]).toMatchObject({ caughtUp: false, lastSequenceNumber: '8' });
    release();
    while (delivered.length < 2) await new Promise((resolve) => setImmediate(resolve));
    expect((await subject.status()).idle).toBe(true);
    await subject.stop();
    expect(delivered).toEqual(['7', '8']);
  });
});

/**
 * Reading one sequence range of a stream shard back (local/stream/stream-range.ts), for the redrive of
 * a batch pointer: across GetRecords pages, up to and including the range's end, as numbers whether or
 * not the sequence numbers are zero-padded (DynamoDB Local's are), and `unreadable` when the shard ends
 * first.
 */
import {
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { compareSequenceNumbers, readStreamRange } from '../../../local/stream/stream-range.ts';

const streams = mockClient(DynamoDBStreamsClient);
const client = new DynamoDBStreamsClient({ region: 'eu-west-1' });
const RANGE = {
  streamArn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/x',
  shardId: 'shardId-1',
  startSequenceNumber: '0098',
  endSequenceNumber: '100',
};
const record = (sequenceNumber: string) => ({
  eventID: `e-${sequenceNumber}`,
  eventName: 'INSERT' as const,
  dynamodb: {
    Keys: { PK: { S: 'CONV#c' }, SK: { S: `MSG#${sequenceNumber}` } },
    NewImage: { PK: { S: 'CONV#c' }, type: { S: 'message' } },
    SequenceNumber: sequenceNumber,
  },
});

afterEach(() => streams.reset());

describe('a stream range', () => {
  it('compares sequence numbers as numbers', () => {
    expect(compareSequenceNumbers('000000029', '29')).toBe(0);
    expect(compareSequenceNumbers('99', '100')).toBeLessThan(0);
    expect(compareSequenceNumbers('0101', '100')).toBeGreaterThan(0);
  });

  it('is read across pages up to and including its end', async () => {
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'i-1' });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'i-1' })
      .resolves({ Records: [record('098'), record('099')], NextShardIterator: 'i-2' });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'i-2' })
      .resolves({ Records: [], NextShardIterator: 'i-3' });
    streams
      .on(GetRecordsCommand, { ShardIterator: 'i-3' })
      .resolves({ Records: [record('100'), record('101')], NextShardIterator: 'i-4' });

    const read = await readStreamRange(client, RANGE, { region: 'eu-west-1', filterPatterns: [] });

    expect('records' in read && read.records.map((r) => r.dynamodb?.SequenceNumber)).toEqual([
      '098',
      '099',
      '100',
    ]);
    expect(streams).toHaveReceivedCommandTimes(GetRecordsCommand, 3);
  });

  it('is unreadable when the shard ends before it does', async () => {
    streams.on(GetShardIteratorCommand).resolves({ ShardIterator: 'i-1' });
    streams.on(GetRecordsCommand).resolves({ Records: [record('098')] });

    expect(await readStreamRange(client, RANGE, { region: 'eu-west-1', filterPatterns: [] })).toEqual({
      unreadable: 'the shard ended before sequence number 100',
    });
  });
});

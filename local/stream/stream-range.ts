/**
 * The records of one sequence range of a stream shard, read back for a redrive of a batch the event
 * source mapping gave up (admin/redrive.ts): GetShardIterator `AT_SEQUENCE_NUMBER` at the
 * range's start, GetRecords until past its end, Lambda-shaped and filtered as the mapping filters. The
 * same code reads DynamoDB Local's stream for the local stack and the table's stream for the operators'
 * tool (admin/), as the benchmark reuses this folder's conversions.
 *
 * A range older than the stream's 24-hour retention (or of a stream that is gone) is `unreadable`;
 * other errors (no permission, throttling) are thrown, so the entry stays for another try.
 */
import {
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { compileFilters, type FilterPattern } from './filter-patterns.ts';
import { toLambdaRecord } from './lambda-records.ts';

export interface StreamRange {
  readonly streamArn: string;
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
}

export interface StreamRangeOptions {
  readonly region: string;
  /** The delivery mapping's filter (definitions/stream.ts): what it would not deliver is left out. */
  readonly filterPatterns: readonly FilterPattern[];
  /** GetRecords calls before giving up on reaching the end of the range. */
  readonly maxPages?: number;
}

/** Errors that mean the records are not in the stream any more, whatever is retried. */
const GONE = new Set(['TrimmedDataAccessException', 'ResourceNotFoundException', 'ExpiredIteratorException']);

export async function readStreamRange(
  client: DynamoDBStreamsClient,
  range: StreamRange,
  options: StreamRangeOptions,
): Promise<{ records: DynamoDBRecord[] } | { unreadable: string }> {
  const filter = compileFilters(options.filterPatterns);
  const maxPages = options.maxPages ?? 1_000;
  const records: DynamoDBRecord[] = [];
  try {
    const start = await client.send(
      new GetShardIteratorCommand({
        StreamArn: range.streamArn,
        ShardId: range.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: range.startSequenceNumber,
      }),
    );
    let iterator = start.ShardIterator;
    for (let page = 0; page < maxPages && iterator !== undefined; page++) {
      const response: GetRecordsCommandOutput = await client.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: 1_000 }),
      );
      for (const record of response.Records ?? []) {
        const sequenceNumber = record.dynamodb?.SequenceNumber ?? '';
        if (compareSequenceNumbers(sequenceNumber, range.endSequenceNumber) > 0) return { records };
        if (compareSequenceNumbers(sequenceNumber, range.startSequenceNumber) < 0) continue;
        const converted = toLambdaRecord(record, range.streamArn, options.region);
        if (filter(converted)) records.push(converted);
        if (compareSequenceNumbers(sequenceNumber, range.endSequenceNumber) === 0) return { records };
      }
      iterator = response.NextShardIterator;
    }
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (GONE.has(name)) return { unreadable: name };
    throw error;
  }
  return { unreadable: `the shard ended before sequence number ${range.endSequenceNumber}` };
}

/**
 * Sequence numbers are decimal strings of up to 40 digits (DynamoDB Local pads them with zeros): compared
 * as numbers, without leading zeros longer is larger, then digit by digit.
 */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

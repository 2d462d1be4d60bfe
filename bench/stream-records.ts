/**
 * Records from the table's real DynamoDB stream (DynamoDB Local's), in the shape the Lambda event
 * source mapping hands the delivery function: the record the benchmark delivers is the one the write
 * produced, not one built by hand.
 */
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { toLambdaRecord } from '../local/stream/lambda-records.ts';

/** Reads every shard from its start and returns the first record `match` accepts. */
export async function findStreamRecord(
  streams: DynamoDBStreamsClient,
  streamArn: string,
  region: string,
  match: (record: DynamoDBRecord) => boolean,
): Promise<DynamoDBRecord> {
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  for (const shard of StreamDescription?.Shards ?? []) {
    let { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    // An open shard always hands out a next iterator: stop at the first empty page.
    while (ShardIterator !== undefined) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
      const records = (page.Records ?? []).map((record) => toLambdaRecord(record, streamArn, region));
      const found = records.find(match);
      if (found !== undefined) return found;
      ShardIterator = records.length === 0 ? undefined : page.NextShardIterator;
    }
  }
  throw new Error('no matching record in the table stream');
}

import { beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_STREAM } from '../../definitions/stream.ts';
import { type Synthesized, statementsOf, synthesize } from './parley-app.ts';

describe('delivery from the table stream', () => {
  // GIVEN the synthesized stack
  let parley: Synthesized;
  let mapping: Record<string, unknown>;
  beforeAll(() => {
    parley = synthesize();
    const mappings = Object.values(parley.template.findResources('AWS::Lambda::EventSourceMapping'));
    expect(mappings).toHaveLength(1);
    mapping = (mappings[0] as { Properties: Record<string, unknown> }).Properties;
  });

  it('feeds the table stream to the delivery function', () => {
    const { stack } = parley;
    expect(mapping.EventSourceArn).toEqual(stack.resolve(stack.table.table.tableStreamArn));
    expect(mapping.FunctionName).toEqual(stack.resolve(stack.functions.delivery.functionName));
  });

  it('batches, retries, bisects and ages out records as the shared stream definition says', () => {
    expect(mapping).toMatchObject({
      BatchSize: DELIVERY_STREAM.batchSize,
      MaximumBatchingWindowInSeconds: DELIVERY_STREAM.maxBatchingWindowSeconds,
      StartingPosition: DELIVERY_STREAM.startingPosition,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: DELIVERY_STREAM.bisectBatchOnError,
      MaximumRetryAttempts: DELIVERY_STREAM.retryAttempts,
      MaximumRecordAgeInSeconds: DELIVERY_STREAM.maxRecordAgeSeconds,
      ParallelizationFactor: DELIVERY_STREAM.parallelizationFactor,
    });
    // Bounded: a poison record cannot block its shard for the stream's whole 24-hour retention.
    expect(DELIVERY_STREAM.retryAttempts).toBeGreaterThan(0);
    expect(DELIVERY_STREAM.maxRecordAgeSeconds).toBeLessThan(24 * 3600);
    expect(DELIVERY_STREAM.reportBatchItemFailures).toBe(true);
  });

  it('invokes the function only for the records it handles', () => {
    const filters = (mapping.FilterCriteria as { Filters: { Pattern: string }[] }).Filters;
    expect(filters.map((filter) => JSON.parse(filter.Pattern))).toEqual(DELIVERY_STREAM.filterPatterns);
    // New messages, and member items whose read cursor markRead moved; not delivery's own bookkeeping.
    expect(DELIVERY_STREAM.filterPatterns).toEqual([
      { eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['message'] } } } },
      {
        eventName: ['MODIFY'],
        dynamodb: { NewImage: { type: { S: ['member'] }, changedBy: { S: ['read'] } } },
      },
    ]);
  });

  it('sends records that exhaust their retries to an encrypted, TLS-only SQS queue', () => {
    const { stack, template } = parley;
    const queue = stack.delivery.onFailureQueue;
    expect(mapping.DestinationConfig).toEqual({ OnFailure: { Destination: stack.resolve(queue.queueArn) } });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const policy = JSON.stringify(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policy).toContain('"aws:SecureTransport":"false"');
    expect(policy).toContain('"Effect":"Deny"');
  });

  it('lets the delivery function read the stream and write to the queue, and nothing broader', () => {
    const { stack } = parley;
    const statements = statementsOf(parley, stack.functions.delivery);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      Resource: [stack.resolve(stack.table.table.tableStreamArn)],
    });
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      Resource: [stack.resolve(stack.delivery.onFailureQueue.queueArn)],
    });
  });

  it('outputs the on-failure queue for operators', () => {
    parley.template.hasOutput('OnFailureQueueUrl', {
      Value: parley.stack.resolve(parley.stack.delivery.onFailureQueue.queueUrl),
    });
  });
});

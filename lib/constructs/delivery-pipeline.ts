/**
 * The table's stream driving the delivery Lambda, configured from definitions/stream.ts (which
 * the local stream poller honours too). The delivery handler retries a failing record a bounded
 * number of times and then records the message's identity in an encrypted SQS queue (through the
 * failure topic); the mapping's own retries, with bisecting, and its stream pointers in the same queue
 * are the backstop for a handler that crashes. The message itself stays in the table, where `sync`
 * finds it (architecture.md, guarantee 3).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StreamConsumerDefinition } from '../../definitions/stream.ts';
import type { ChatTable } from './chat-table.ts';

export interface DeliveryPipelineProps {
  readonly definition: StreamConsumerDefinition;
  readonly table: ChatTable;
  readonly consumer: lambda.IFunction;
}

export class DeliveryPipeline extends Construct {
  /** The stream settings this pipeline was built from (the tests check it is the shared object). */
  readonly definition: StreamConsumerDefinition;
  /**
   * What delivery could not complete. Two kinds of entries: the delivery handler's own (published to
   * `failureTopic`), naming the message (conversation, seq, recipients not reached), redeliverable at
   * any age; and the mapping's stream pointers (shard, sequence numbers: readable for 24 hours), only
   * when the handler itself kept crashing or timing out on a batch.
   */
  readonly onFailureQueue: sqs.Queue;
  /** The delivery handler publishes what it gives up on here; the on-failure queue is subscribed. */
  readonly failureTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: DeliveryPipelineProps) {
    super(scope, id);
    const definition = props.definition;
    this.definition = definition;

    this.onFailureQueue = new sqs.Queue(this, 'OnFailure', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: time for an operator to look before the evidence expires.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.onFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the last stop: the on-failure destination of the stream mapping, read by ' +
        'operators. Its entries only point at records that stay in the table.',
    });

    this.failureTopic = new sns.Topic(this, 'FailureTopic', {
      displayName: 'Parley delivery failures',
      enforceSSL: true,
    });
    // Raw delivery: queue entries are the handler's JSON as published, not wrapped in an SNS envelope.
    this.failureTopic.addSubscription(new SqsSubscription(this.onFailureQueue, { rawMessageDelivery: true }));

    const source = new DynamoEventSource(props.table.table, {
      startingPosition: lambda.StartingPosition[definition.startingPosition],
      batchSize: definition.batchSize,
      maxBatchingWindow: Duration.seconds(definition.maxBatchingWindowSeconds),
      reportBatchItemFailures: definition.reportBatchItemFailures,
      bisectBatchOnError: definition.bisectBatchOnError,
      retryAttempts: definition.retryAttempts,
      maxRecordAge: Duration.seconds(definition.maxRecordAgeSeconds),
      parallelizationFactor: definition.parallelizationFactor,
      onFailure: new SqsDlq(this.onFailureQueue),
      filters: definition.filterPatterns.map((pattern) => lambda.FilterCriteria.filter(pattern)),
    });
    props.consumer.addEventSource(source);
  }
}

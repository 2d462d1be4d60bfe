/**
 * The table's stream driving the delivery Lambda, configured from definitions/stream.ts (which
 * the local stream poller honours too). A failing record is retried with bisecting up to a bound,
 * then its coordinates go to an encrypted SQS queue; the message itself stays in the table, where
 * `sync` finds it (architecture.md, guarantee 3).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
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
  /** Where records land after their retries; each entry names the shard and sequence numbers. */
  readonly onFailureQueue: sqs.Queue;

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

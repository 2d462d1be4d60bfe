/**
 * Events to the app's backend (integration.md, "Events to the backend"; definitions/events.ts): the
 * stack's own EventBridge bus, `{stackName}-events`, and the table's stream driving the events function
 * through an event source mapping of its own, configured from definitions/events.ts (which the local
 * stream poller honours too). Apart from delivery's mapping on purpose: each keeps its own place in the
 * stream, its own retries and its own failures, so a delivery retry never publishes an event twice
 * and an EventBridge outage never holds up delivery.
 *
 * The events function puts each record's event, retries the entries that fail and reports the records
 * of those that still fail; the mapping retries them (with bisecting) for as long as the stream keeps
 * them, then sends a stream pointer to this pipeline's own on-failure queue. Not delivery's queue: the
 * admin tool's redrive replays that queue's pointers through delivery (admin/redrive.ts), which would
 * deliver those records' messages again instead of publishing their events.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StreamMappingDefinition } from '../../definitions/stream.ts';
import type { ChatTable } from './chat-table.ts';

export interface EventsPipelineProps {
  readonly definition: StreamMappingDefinition;
  readonly table: ChatTable;
  readonly consumer: lambda.IFunction;
}

export class EventsPipeline extends Construct {
  /** The stream settings this pipeline was built from (the tests check it is the shared object). */
  readonly definition: StreamMappingDefinition;
  /** Where the events go: rules of the app's backend match `source: ["parley"]` on it. */
  readonly bus: events.EventBus;
  /** Stream pointers of batches the mapping gave up (readable in the stream for 24 hours). */
  readonly onFailureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: EventsPipelineProps) {
    super(scope, id);
    const definition = props.definition;
    this.definition = definition;

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: `${Stack.of(this).stackName}-events` });

    this.onFailureQueue = new sqs.Queue(this, 'OnFailure', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.onFailureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the last stop: the on-failure destination of the events stream mapping, ' +
        'read by operators. Its entries only point at stream records.',
    });

    props.consumer.addEventSource(
      new DynamoEventSource(props.table.table, {
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
      }),
    );
  }
}

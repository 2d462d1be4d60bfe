/**
 * What an operator watches: alarms on every function's errors and throttles, on delivery falling
 * behind the stream and records landing in the on-failure queue, and on API Gateway's own errors;
 * all notify one SNS topic. One dashboard shows the same signals side by side.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ChatTable } from './chat-table.ts';

export interface OperationsProps {
  /** Every function, by handler name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The stream consumer, whose iterator age says how far delivery lags behind commits. */
  readonly streamConsumer: lambda.IFunction;
  readonly onFailureQueue: sqs.IQueue;
  readonly stage: apigwv2.IWebSocketStage;
  readonly table: ChatTable;
  /** @default - no subscription; subscribe to the topic yourself */
  readonly alarmEmail?: string;
}

/** Delivery is real-time: records waiting this long mean recipients see messages late. */
export const ITERATOR_AGE_THRESHOLD = Duration.seconds(30);

const FIVE_MINUTES = Duration.minutes(5);

export class Operations extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Parley alarms', enforceSSL: true });
    if (props.alarmEmail !== undefined)
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    const functions = Object.entries(props.functions);
    for (const [name, fn] of functions) {
      // Handlers answer bad input with error frames, so any Lambda error is a crash worth a look.
      this.alarm(`${name}-errors`, fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), {
        threshold: 1,
        description: `The ${name} function failed (unhandled error or timeout).`,
      });
      this.alarm(`${name}-throttles`, fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }), {
        threshold: 1,
        description: `The ${name} function was throttled: account or reserved concurrency exhausted.`,
      });
    }

    const iteratorAge = props.streamConsumer.metric('IteratorAge', {
      period: Duration.minutes(1),
      statistic: 'Maximum',
    });
    this.alarm('delivery-iterator-age', iteratorAge, {
      threshold: ITERATOR_AGE_THRESHOLD.toMilliseconds(),
      evaluationPeriods: 3,
      description: 'Delivery lags behind the table stream: messages reach recipients late.',
    });

    const failed = props.onFailureQueue.metricApproximateNumberOfMessagesVisible({
      period: FIVE_MINUTES,
      statistic: 'Maximum',
    });
    this.alarm('delivery-on-failure-queue', failed, {
      threshold: 1,
      description:
        'Stream records exhausted their retries; see the on-failure queue (messages are still in the table).',
    });

    const apiMetric = (name: string) => props.stage.metric(name, { period: FIVE_MINUTES, statistic: 'Sum' });
    this.alarm('api-execution-errors', apiMetric('ExecutionError'), {
      threshold: 1,
      description: 'API Gateway failed to run a route (its own 5xx).',
    });
    this.alarm('api-integration-errors', apiMetric('IntegrationError'), {
      threshold: 5,
      description: 'Route integrations answered API Gateway with errors.',
    });

    this.dashboard = this.buildDashboard(props, apiMetric);
  }

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    options: { threshold: number; description: string; evaluationPeriods?: number },
  ): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: options.threshold,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not a failure.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: options.description,
    });
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    alarm.addOkAction(new SnsAction(this.alarmTopic));
    this.alarms.push(alarm);
  }

  private buildDashboard(
    props: OperationsProps,
    apiMetric: (name: string) => cloudwatch.Metric,
  ): cloudwatch.Dashboard {
    const functions = Object.entries(props.functions);
    const perFunction = (metric: (fn: lambda.IFunction) => cloudwatch.Metric) =>
      functions.map(([name, fn]) => metric(fn).with({ label: name }));
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Connections and messages',
        left: [apiMetric('ConnectCount'), apiMetric('MessageCount')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'API errors',
        left: [apiMetric('ClientError'), apiMetric('ExecutionError'), apiMetric('IntegrationError')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Integration latency (ms)',
        left: ['p50', 'p99'].map((statistic) =>
          props.stage.metric('IntegrationLatency', { period: FIVE_MINUTES, statistic, label: statistic }),
        ),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Function errors',
        left: perFunction((fn) => fn.metricErrors({ period: FIVE_MINUTES })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function duration p99 (ms)',
        left: perFunction((fn) => fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99' })),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Function throttles',
        left: perFunction((fn) => fn.metricThrottles({ period: FIVE_MINUTES })),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Delivery iterator age (ms)',
        left: [
          props.streamConsumer.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
        ],
        leftAnnotations: [{ value: ITERATOR_AGE_THRESHOLD.toMilliseconds(), label: 'alarm' }],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'On-failure queue depth',
        left: [props.onFailureQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'DynamoDB consumed capacity',
        left: [
          props.table.table.metricConsumedReadCapacityUnits({ period: FIVE_MINUTES }),
          props.table.table.metricConsumedWriteCapacityUnits({ period: FIVE_MINUTES }),
        ],
        right: [props.table.table.metricUserErrors({ period: FIVE_MINUTES })],
        width: 8,
      }),
    );
    return dashboard;
  }
}

/**
 * What an operator watches. Every alarm fires on something that is wrong with Parley, never on what
 * clients do: a refused token, a bad frame or a non-member's message are answered and counted
 * (ConnectionsRefused, RouteErrors by code) and shown on the dashboard, not alarmed on. All alarms
 * notify one SNS topic, on alarm and on recovery; docs/deploy.md "Runbook" has one entry per alarm.
 *
 * - Crashes and throttles of the functions, from Lambda's own metrics, except the authorizer's
 *   `Errors`: it throws `Unauthorized` for every expired or revoked token (API Gateway's way of
 *   answering 401), so its errors measure traffic. Its failures are counted by the authorizer itself.
 * - Failures the handlers answer or absorb, which Lambda never sees as errors (a route that fails
 *   answers an `internal` error frame with status 200): Parley's own metrics, from definitions/metrics.ts.
 * - Delivery falling behind the stream, records landing in the on-failure queue, DynamoDB throttling
 *   and API Gateway's own errors.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DELIVERY_FAILURE_CLASSES,
  METRIC_NAMESPACE,
  METRICS,
  type MetricDimensions,
  type MetricName,
  PUSH_FAILURE_CLASSES,
  REFUSAL_REASONS,
  ROUTE_ERROR_CODES,
} from '../../definitions/metrics.ts';
import { REPORT_REASONS } from '../../definitions/reports.ts';
import { SEND_HOOK_ANSWERS, SEND_HOOK_EVENT_TYPES, SEND_HOOK_FAILURES } from '../../definitions/send-hook.ts';
import type { ChatTable } from './chat-table.ts';

export interface OperationsProps {
  /** Every function, by handler name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /**
   * The `$connect` authorizer, one of `functions`. Its `Errors` are graphed, not alarmed on: every
   * 401 is a thrown `Unauthorized`.
   */
  readonly authorizer: lambda.IFunction;
  /** The stream consumer, whose iterator age says how far delivery lags behind commits. */
  readonly streamConsumer: lambda.IFunction;
  readonly onFailureQueue: sqs.IQueue;
  readonly stage: apigwv2.IWebSocketStage;
  readonly table: ChatTable;
  /** @default - no subscription; subscribe to the topic yourself */
  readonly alarmEmail?: string;
  /** (1.2) The deployment asks a send hook: its answers are graphed and its failures alarmed on. @default false */
  readonly sendHook?: boolean;
}

/** Delivery is real-time: records waiting this long mean recipients see messages late. */
export const ITERATOR_AGE_THRESHOLD = Duration.seconds(30);
/** `internal` answers in 5 minutes that raise the alarm (see the alarm for why 5). */
export const ROUTE_INTERNAL_ERRORS_THRESHOLD = 5;
/** Failed send hook calls in 5 minutes that raise the alarm (see the alarm for why 5). */
export const SEND_HOOK_FAILURES_THRESHOLD = 5;

const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

/** The DynamoDB calls the handlers make, for the SystemErrors graph (that metric is per operation). */
const TABLE_OPERATIONS = [
  dynamodb.Operation.GET_ITEM,
  dynamodb.Operation.BATCH_GET_ITEM,
  dynamodb.Operation.QUERY,
  dynamodb.Operation.PUT_ITEM,
  dynamodb.Operation.UPDATE_ITEM,
  dynamodb.Operation.DELETE_ITEM,
  dynamodb.Operation.BATCH_WRITE_ITEM,
  dynamodb.Operation.TRANSACT_WRITE_ITEMS,
];

/**
 * One of Parley's own metrics, as the handlers publish it (definitions/metrics.ts): summed counts in
 * namespace `Parley`. CloudWatch identifies a metric by its exact dimensions, so `dimensions` must
 * name exactly one of the metric's published dimension sets; anything else would be a metric that
 * never receives data, and fails synth here instead.
 */
export function parleyMetric<M extends MetricName>(
  name: M,
  dimensions: Partial<MetricDimensions[M]>,
  options: { period: Duration; label?: string },
): cloudwatch.Metric {
  const keys = Object.keys(dimensions).sort();
  const published = (METRICS[name].dimensionSets as readonly (readonly string[])[]).some(
    (set) => set.length === keys.length && [...set].sort().every((key, index) => key === keys[index]),
  );
  if (!published) {
    throw new Error(`${name} is not published with exactly the dimensions [${keys.join(', ')}]`);
  }
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: dimensions as Record<string, string>,
    statistic: cloudwatch.Stats.SUM,
    period: options.period,
    ...(options.label !== undefined && { label: options.label }),
  });
}

interface AlarmOptions {
  readonly threshold: number;
  readonly description: string;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
}

export class Operations extends Construct {
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Parley alarms', enforceSSL: true });
    if (props.alarmEmail !== undefined)
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    for (const [name, fn] of Object.entries(props.functions)) {
      if (fn !== props.authorizer) {
        // Routes answer bad input and their own failures with error frames, and delivery reports
        // failed records: a Lambda error left is a crash or a timeout.
        this.alarm(`${name}-errors`, fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), {
          threshold: 1,
          description: `The ${name} function crashed or timed out (a Lambda error).`,
        });
      }
      // Throttling refuses work whoever the function is, the authorizer included (clients cannot connect).
      this.alarm(`${name}-throttles`, fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }), {
        threshold: 1,
        description: `The ${name} function was throttled: account or reserved concurrency exhausted.`,
      });
    }

    // A route that fails answers `internal` (status 200), so only this count sees it. One or two in
    // five minutes are blips that the client's retry (same clientMessageId) absorbs, such as a send that
    // lost the race for the next seq until its deadline in a very busy conversation; five mean users
    // keep getting errors.
    this.alarm(
      'route-internal-errors',
      parleyMetric('RouteErrors', { Code: 'internal' }, { period: FIVE_MINUTES }),
      {
        threshold: ROUTE_INTERNAL_ERRORS_THRESHOLD,
        description: `Routes answered \`internal\` (the server failed) at least ${ROUTE_INTERNAL_ERRORS_THRESHOLD} times in 5 minutes.`,
      },
    );

    // The authorizer could not decide (DynamoDB, the JWKS or the HS256 secret failing): the client
    // got a 500 and cannot connect. A lone failure is a blip the app's reconnect absorbs; three in five
    // minutes is an outage.
    this.alarm('authorizer-failures', parleyMetric('AuthorizerFailures', {}, { period: FIVE_MINUTES }), {
      threshold: 3,
      description:
        'The $connect authorizer failed to decide at least 3 times in 5 minutes (clients got 500).',
    });

    // (1.2) The send hook failed (no answer in time, an error, an answer that is none of the contract's).
    // Either policy hides it from Parley's other alarms: with `refuse` each failure is a send answered
    // `internal` (the route-internal-errors alarm counts those too, among others), with `allow` each one
    // is a message stored without the operator's rules (no charge, no filter), which nothing else sees. A
    // lone timeout is a hook function's cold start; five in five minutes mean the hook is failing.
    if (props.sendHook === true) {
      this.alarm('send-hook-failures', parleyMetric('SendHookFailures', {}, { period: FIVE_MINUTES }), {
        threshold: SEND_HOOK_FAILURES_THRESHOLD,
        description: `The send hook failed at least ${SEND_HOOK_FAILURES_THRESHOLD} times in 5 minutes (messages refused or stored unchecked, as onFailure says).`,
      });
    }

    // Each of these is a record some recipient did not get in real time; none happens in normal
    // operation. (The message stays in the table and reaches the recipient through sync.)
    this.alarm(
      'delivery-gave-up',
      parleyMetric('DeliveryFailures', { Class: 'gave_up' }, { period: FIVE_MINUTES }),
      {
        threshold: 1,
        description: 'Delivery gave up on a record after its retries and sent it to the on-failure queue.',
      },
    );
    this.alarm(
      'delivery-permanent-failures',
      parleyMetric('DeliveryFailures', { Class: 'permanent' }, { period: FIVE_MINUTES }),
      {
        threshold: 1,
        description:
          'Delivery skipped a target for good (a 403, 413 or bad request from the @connections API, or a vanished conversation).',
      },
    );

    // Some permanent push failures are normal: an app uninstalled since its last push is refused once,
    // then its device is removed. A sustained rate is not: it is what an expired APNs certificate or a
    // revoked FCM key looks like, every push refused. So: at least 5 in each of 3 consecutive
    // 5-minute periods.
    this.alarm(
      'push-permanent-failures',
      parleyMetric('PushFailures', { Class: 'permanent' }, { period: FIVE_MINUTES }),
      {
        threshold: 5,
        evaluationPeriods: 3,
        description: 'Pushes keep failing for good: at least 5 every 5 minutes for 15 minutes.',
      },
    );

    // The table is on demand, which still throttles: a hot partition key, more than double the previous
    // peak at once, or the table's throughput quota. Read/WriteThrottleEvents count throttled events
    // whatever the cause, by table (TableName) and by index (TableName + GlobalSecondaryIndexName),
    // so four metrics cover everything. ThrottledRequests and SystemErrors, by contrast, exist only per
    // Operation (one metric per API call the handlers use), and ThrottledRequests skips a batch that
    // was only partly throttled (the authorizer's BatchGetItem). SystemErrors (DynamoDB 500s) are retried
    // by the SDK; the ones that persist surface as RouteErrors{Code=internal} and delivery failures,
    // which are alarmed on, so SystemErrors go on the dashboard.
    // The SDK retries a throttled call, so a throttle now and then costs latency, not errors; throttles
    // in 3 of 5 minutes mean requests are being refused. DynamoDB alarms keep their last state while
    // the metric has no data (and it has none without throttles), so FILL turns each quiet minute into
    // a 0 and the alarm can return to OK.
    this.alarm('table-throttles', this.tableThrottles(props.table), {
      threshold: 1,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      description: 'DynamoDB throttled reads or writes of the table or its index in 3 of the last 5 minutes.',
    });

    const iteratorAge = props.streamConsumer.metric('IteratorAge', {
      period: ONE_MINUTE,
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

  /** Throttled events of the table and of each of its indexes, per minute, 0 when there were none. */
  private tableThrottles(table: ChatTable): cloudwatch.MathExpression {
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    const scopes = [
      { TableName: table.tableName },
      ...table.definition.globalIndexes.map((index) => ({
        TableName: table.tableName,
        GlobalSecondaryIndexName: index.indexName,
      })),
    ];
    scopes.forEach((dimensionsMap, scope) => {
      for (const [kind, metricName] of [
        ['r', 'ReadThrottleEvents'],
        ['w', 'WriteThrottleEvents'],
      ] as const) {
        usingMetrics[`${kind}${scope}`] = new cloudwatch.Metric({
          namespace: 'AWS/DynamoDB',
          metricName,
          dimensionsMap,
          statistic: cloudwatch.Stats.SUM,
          period: ONE_MINUTE,
        });
      }
    });
    return new cloudwatch.MathExpression({
      expression: Object.keys(usingMetrics)
        .map((id) => `FILL(${id}, 0)`)
        .join(' + '),
      usingMetrics,
      period: ONE_MINUTE,
      label: 'Throttled events (table and indexes)',
    });
  }

  private alarm(id: string, metric: cloudwatch.IMetric, options: AlarmOptions): void {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: options.threshold,
      evaluationPeriods,
      datapointsToAlarm: options.datapointsToAlarm ?? evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not a failure: Parley's counts have no data point when nothing went wrong.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${options.description} Runbook: docs/deploy.md, "Runbook", ${id}.`,
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
      // Ordinary traffic: tokens expire, sessions are revoked. The authorizer's Lambda Errors, on the
      // right, count every 401 too: read them against the refusals, not on their own.
      new cloudwatch.GraphWidget({
        title: 'Connections refused, by reason',
        left: REFUSAL_REASONS.map((reason) =>
          parleyMetric('ConnectionsRefused', { Reason: reason }, { period: FIVE_MINUTES, label: reason }),
        ),
        right: [
          props.authorizer
            .metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' })
            .with({ label: 'authorizer Errors (every 401 included)' }),
          parleyMetric('AuthorizerFailures', {}, { period: FIVE_MINUTES, label: 'AuthorizerFailures' }),
        ],
        stacked: true,
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Error frames answered, by code',
        left: ROUTE_ERROR_CODES.map((code) =>
          parleyMetric('RouteErrors', { Code: code }, { period: FIVE_MINUTES, label: code }),
        ),
        leftAnnotations: [{ value: ROUTE_INTERNAL_ERRORS_THRESHOLD, label: 'internal: alarm' }],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Delivery and push failures',
        left: [
          ...DELIVERY_FAILURE_CLASSES.map((failureClass) =>
            parleyMetric(
              'DeliveryFailures',
              { Class: failureClass },
              { period: FIVE_MINUTES, label: `delivery ${failureClass}` },
            ),
          ),
          ...PUSH_FAILURE_CLASSES.map((failureClass) =>
            parleyMetric(
              'PushFailures',
              { Class: failureClass },
              { period: FIVE_MINUTES, label: `push ${failureClass}` },
            ),
          ),
        ],
        right: [parleyMetric('FanoutCapped', {}, { period: FIVE_MINUTES, label: 'fan-out capped' })],
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
        left: [props.streamConsumer.metric('IteratorAge', { period: ONE_MINUTE, statistic: 'Maximum' })],
        leftAnnotations: [{ value: ITERATOR_AGE_THRESHOLD.toMilliseconds(), label: 'alarm' }],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'On-failure queue depth',
        left: [props.onFailureQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES })],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'DynamoDB consumed capacity',
        left: [
          props.table.table.metricConsumedReadCapacityUnits({ period: FIVE_MINUTES }),
          props.table.table.metricConsumedWriteCapacityUnits({ period: FIVE_MINUTES }),
        ],
        right: [props.table.table.metricUserErrors({ period: FIVE_MINUTES })],
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'DynamoDB throttles and system errors',
        left: [this.tableThrottles(props.table)],
        right: [
          props.table.table.metricSystemErrorsForOperations({
            operations: TABLE_OPERATIONS,
            period: FIVE_MINUTES,
            label: 'SystemErrors (HTTP 500)',
          }),
        ],
        width: 6,
      }),
    );
    dashboard.addWidgets(
      // (1.2) What users report, by reason: the moderators' workload (`npm run admin -- reports`). Users'
      // doing, not a fault, so no alarm; a spike is worth a look at the queue, not a page.
      new cloudwatch.GraphWidget({
        title: 'Reports filed, by reason',
        left: REPORT_REASONS.map((reason) =>
          parleyMetric('Reports', { Reason: reason }, { period: FIVE_MINUTES, label: reason }),
        ),
        stacked: true,
        width: 12,
      }),
    );
    if (props.sendHook === true) {
      dashboard.addWidgets(
        // (1.2) What the hook decides (denials are the operator's rules at work, not faults) and how
        // its calls fail, by reason.
        new cloudwatch.GraphWidget({
          title: 'Send hook answers',
          left: SEND_HOOK_EVENT_TYPES.flatMap((event) =>
            SEND_HOOK_ANSWERS.map((answer) =>
              parleyMetric(
                'SendHookAnswers',
                { Event: event, Answer: answer },
                { period: FIVE_MINUTES, label: `${event} ${answer}` },
              ),
            ),
          ),
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: 'Send hook failures, by reason',
          left: SEND_HOOK_FAILURES.map((reason) =>
            parleyMetric('SendHookFailures', { Reason: reason }, { period: FIVE_MINUTES, label: reason }),
          ),
          leftAnnotations: [{ value: SEND_HOOK_FAILURES_THRESHOLD, label: 'alarm (all reasons)' }],
          stacked: true,
          width: 12,
        }),
      );
    }
    return dashboard;
  }
}

/**
 * The operations construct: every alarm watches something that is wrong with Parley, with exactly the
 * metric, namespace, dimensions and threshold it means, and none fires on ordinary traffic (a token
 * that expired, a revoked session, a bad frame).
 */
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS, type MetricName } from '../../definitions/metrics.ts';
import { REPORT_REASONS } from '../../definitions/reports.ts';
import { AUTHORIZER } from '../../definitions/routes.ts';
import { CONTACTS_INDEX, INBOX_INDEX, REPORTS_INDEX, UNREAD_INDEX } from '../../definitions/table.ts';
import { ITERATOR_AGE_THRESHOLD, parleyMetric } from '../../lib/constructs/operations.ts';
import { FUNCTION_PERMISSIONS, type FunctionName } from '../../lib/permissions.ts';
import { type Synthesized, synthesize } from './parley-app.ts';

const NAMES = Object.keys(FUNCTION_PERMISSIONS) as FunctionName[];
const NOT_AUTHORIZER = NAMES.filter((name) => name !== AUTHORIZER.handler);

type Dimension = { Name: string; Value: unknown };
type Alarm = { Properties: Record<string, unknown> };
/** The metric an alarm watches, or each metric of its math expression. */
type WatchedMetric = { Namespace?: string; MetricName?: string; Dimensions?: Dimension[] };

function watchedBy(alarm: Alarm): WatchedMetric[] {
  const { Metrics } = alarm.Properties as { Metrics?: { MetricStat?: { Metric: WatchedMetric } }[] };
  if (Metrics === undefined) return [alarm.Properties as WatchedMetric];
  return Metrics.flatMap((query) => (query.MetricStat === undefined ? [] : [query.MetricStat.Metric]));
}

describe('operations', () => {
  // GIVEN the synthesized stack
  let parley: Synthesized;
  let alarms: Alarm[];
  beforeAll(() => {
    parley = synthesize({ alarmEmail: 'ops@example.com' });
    alarms = Object.values(parley.template.findResources('AWS::CloudWatch::Alarm')) as Alarm[];
  });

  const alarmsOn = (metricName: string, dimensions: unknown[]) =>
    alarms.filter(
      (alarm) =>
        alarm.Properties.MetricName === metricName &&
        // CloudFormation has no Dimensions at all for a metric without any.
        JSON.stringify(alarm.Properties.Dimensions ?? []) === JSON.stringify(dimensions),
    );
  const functionDimensions = (name: FunctionName) => [
    { Name: 'FunctionName', Value: parley.stack.resolve(parley.stack.functions[name].functionName) },
  ];

  describe('function crashes and throttles', () => {
    it.each(NOT_AUTHORIZER)('alarms on any error of %s', (name) => {
      const found = alarmsOn('Errors', functionDimensions(name));

      expect(found, name).toHaveLength(1);
      expect(found[0]?.Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    it.each(NAMES)('alarms on any throttle of %s', (name) => {
      const found = alarmsOn('Throttles', functionDimensions(name));

      expect(found, name).toHaveLength(1);
      expect(found[0]?.Properties).toMatchObject({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 1 });
    });
  });

  describe('ordinary refusals raise no alarm', () => {
    it('no alarm watches the authorizer’s Errors, which count every 401 (expired, revoked, bad tokens)', () => {
      // WHEN looking at every metric of every alarm, math expressions included
      const onAuthorizerErrors = alarms.filter((alarm) =>
        watchedBy(alarm).some(
          (metric) =>
            metric.MetricName === 'Errors' &&
            JSON.stringify(metric.Dimensions) === JSON.stringify(functionDimensions(AUTHORIZER.handler)),
        ),
      );

      // THEN
      expect(onAuthorizerErrors).toEqual([]);
    });

    it('no alarm watches ConnectionsRefused, by any reason', () => {
      const onRefusals = alarms.filter((alarm) =>
        watchedBy(alarm).some((metric) => metric.MetricName === 'ConnectionsRefused'),
      );

      expect(onRefusals).toEqual([]);
    });

    it('no alarm watches Reports: what users report is the moderators’ work, not a fault', () => {
      const onReports = alarms.filter((alarm) =>
        watchedBy(alarm).some((metric) => metric.MetricName === 'Reports'),
      );

      expect(onReports).toEqual([]);
    });

    it('no alarm watches a client-caused route error code', () => {
      const routeErrorAlarms = alarms.filter((alarm) =>
        watchedBy(alarm).some((metric) => metric.MetricName === 'RouteErrors'),
      );

      expect(routeErrorAlarms.map((alarm) => alarm.Properties.Dimensions)).toEqual([
        [{ Name: 'Code', Value: 'internal' }],
      ]);
    });
  });

  describe('Parley’s own metrics', () => {
    it.each([
      ['RouteErrors', { Code: 'internal' }, { Threshold: 5, Period: 300, EvaluationPeriods: 1 }],
      ['AuthorizerFailures', {}, { Threshold: 3, Period: 300, EvaluationPeriods: 1 }],
      ['DeliveryFailures', { Class: 'gave_up' }, { Threshold: 1, Period: 300, EvaluationPeriods: 1 }],
      ['DeliveryFailures', { Class: 'permanent' }, { Threshold: 1, Period: 300, EvaluationPeriods: 1 }],
      // A sustained rate: every 5 minutes for 15 minutes.
      [
        'PushFailures',
        { Class: 'permanent' },
        { Threshold: 5, Period: 300, EvaluationPeriods: 3, DatapointsToAlarm: 3 },
      ],
    ] as const)('alarms on %s %o', (metricName, dimensions, expected) => {
      // WHEN
      const dimensionList = Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value }));
      const found = alarmsOn(metricName, dimensionList);

      // THEN one alarm, on exactly the dimensions the handlers publish, in namespace Parley
      expect(found).toHaveLength(1);
      parley.template.hasResourceProperties(
        'AWS::CloudWatch::Alarm',
        Match.objectLike({
          Namespace: 'Parley',
          MetricName: metricName,
          Dimensions: dimensionList.length === 0 ? Match.absent() : dimensionList,
          Statistic: 'Sum',
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
          ...expected,
        }),
      );
      const published = METRICS[metricName as MetricName].dimensionSets.map((set) => [...set].sort().join());
      expect(published).toContain(Object.keys(dimensions).sort().join());
    });

    it('alarms only on Parley metrics with a dimension set the handlers publish', () => {
      const parleyAlarms = alarms.filter((alarm) => alarm.Properties.Namespace === 'Parley');

      expect(parleyAlarms).toHaveLength(5);
      for (const alarm of parleyAlarms) {
        const name = alarm.Properties.MetricName as MetricName;
        const keys = ((alarm.Properties.Dimensions as Dimension[] | undefined) ?? []).map((d) => d.Name);
        const published = METRICS[name].dimensionSets.map((set) => [...set].sort().join());
        expect(published, name).toContain(keys.sort().join());
      }
    });

    it('refuses at synth a metric under dimensions the handlers do not publish', () => {
      expect(() =>
        parleyMetric('RouteErrors', { Route: 'sendMessage' }, { period: Duration.minutes(5) }),
      ).toThrowError(/RouteErrors is not published with exactly the dimensions \[Route\]/);
      expect(() =>
        parleyMetric(
          'RouteErrors',
          { Route: 'sendMessage', Code: 'internal' },
          { period: Duration.minutes(5) },
        ),
      ).not.toThrow();
    });
  });

  it('alarms when DynamoDB throttles the table or one of its indexes in 3 of 5 minutes', () => {
    // GIVEN the table's name as CloudFormation has it
    const table = parley.stack.resolve(parley.stack.table.tableName);
    const onTable = [{ Name: 'TableName', Value: table }];
    // CDK writes dimensions sorted by name.
    const onIndex = (index: string) => [{ Name: 'GlobalSecondaryIndexName', Value: index }, ...onTable];
    const throttleStat = (metricName: string, dimensions: Dimension[]) =>
      Match.objectLike({
        MetricStat: {
          Metric: { Namespace: 'AWS/DynamoDB', MetricName: metricName, Dimensions: dimensions },
          Period: 60,
          Stat: 'Sum',
        },
        ReturnData: false,
      });

    // THEN one alarm sums every throttled event, with quiet minutes as 0
    parley.template.hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      Match.objectLike({
        Threshold: 1,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Metrics: Match.arrayWith([
          Match.objectLike({
            Expression:
              'FILL(r0, 0) + FILL(w0, 0) + FILL(r1, 0) + FILL(w1, 0) + FILL(r2, 0) + FILL(w2, 0) + FILL(r3, 0) + FILL(w3, 0) + FILL(r4, 0) + FILL(w4, 0)',
          }),
          throttleStat('ReadThrottleEvents', onTable),
          throttleStat('WriteThrottleEvents', onTable),
          throttleStat('ReadThrottleEvents', onIndex(UNREAD_INDEX)),
          throttleStat('WriteThrottleEvents', onIndex(UNREAD_INDEX)),
          throttleStat('ReadThrottleEvents', onIndex(INBOX_INDEX)),
          throttleStat('WriteThrottleEvents', onIndex(INBOX_INDEX)),
          throttleStat('ReadThrottleEvents', onIndex(CONTACTS_INDEX)),
          throttleStat('WriteThrottleEvents', onIndex(CONTACTS_INDEX)),
          throttleStat('ReadThrottleEvents', onIndex(REPORTS_INDEX)),
          throttleStat('WriteThrottleEvents', onIndex(REPORTS_INDEX)),
        ]),
      }),
    );
  });

  it('alarms when delivery falls behind the stream', () => {
    const dimensions = functionDimensions('delivery');
    expect(alarmsOn('IteratorAge', dimensions)[0]?.Properties).toMatchObject({
      Statistic: 'Maximum',
      Threshold: ITERATOR_AGE_THRESHOLD.toMilliseconds(),
      Period: 60,
      EvaluationPeriods: 3,
    });
  });

  it('alarms as soon as a record lands in the on-failure queue', () => {
    const queue = parley.stack.delivery.onFailureQueue;
    const dimensions = [{ Name: 'QueueName', Value: parley.stack.resolve(queue.queueName) }];
    expect(alarmsOn('ApproximateNumberOfMessagesVisible', dimensions)[0]?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      Threshold: 1,
    });
  });

  it.each(['ExecutionError', 'IntegrationError'])('alarms on API Gateway %s for this API stage', (metric) => {
    const dimensions = [
      { Name: 'ApiId', Value: parley.stack.resolve(parley.stack.webSocket.api.apiId) },
      { Name: 'Stage', Value: 'prod' },
    ];
    expect(alarmsOn(metric, dimensions)[0]?.Properties).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Sum',
    });
  });

  it('notifies the alarm topic, and the configured address, on alarm and on recovery', () => {
    const topic = parley.stack.resolve(parley.stack.operations.alarmTopic.topicArn);
    // Errors of every function but the authorizer, throttles of every function, 5 on Parley's own
    // metrics, DynamoDB throttles, iterator age, on-failure queue, 2 on API Gateway.
    expect(alarms.length).toBe(NOT_AUTHORIZER.length + NAMES.length + 5 + 1 + 4);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
      expect(alarm.Properties.AlarmDescription).toMatch(/Runbook: docs\/deploy\.md, "Runbook", /);
    }
    parley.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: topic,
    });
  });

  it('has a dashboard over the same signals, refusals by reason included', () => {
    const dashboard = Object.values(parley.template.findResources('AWS::CloudWatch::Dashboard'))[0] as Alarm;
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of [
      'ConnectCount',
      'MessageCount',
      'IntegrationLatency',
      'Errors',
      'Duration',
      'IteratorAge',
      'ReadThrottleEvents',
      'SystemErrors',
      // The send hook's are graphed only with a hook (test/cdk/send-hook.test.ts).
      ...Object.keys(METRICS).filter((name) => !name.startsWith('SendHook')),
    ]) {
      expect(body).toContain(metric);
    }
    for (const reason of ['missing_token', 'expired', 'revoked', 'deactivated']) {
      expect(body).toContain(`\\"Reason\\",\\"${reason}\\"`);
    }
    // Reports, one line per reason, under exactly the dimension the handlers publish
    for (const reason of REPORT_REASONS) {
      expect(body).toContain(`[\\"Parley\\",\\"Reports\\",\\"Reason\\",\\"${reason}\\"`);
    }
    expect(dashboard.Properties.DashboardName).toBeUndefined();
  });

  it('outputs the wss URL, the table and what the admin tool needs', () => {
    const { stack, template } = parley;
    template.hasOutput('WebSocketUrl', { Value: stack.resolve(stack.webSocket.stage.url) });
    expect(JSON.stringify(stack.resolve(stack.webSocket.stage.url))).toContain('"wss://"');
    template.hasOutput('TableName', { Value: stack.resolve(stack.table.tableName) });
    template.hasOutput('ManagementApiUrl', { Value: stack.resolve(stack.webSocket.stage.callbackUrl) });
    template.hasOutput('Region', { Value: { Ref: 'AWS::Region' } });
    template.hasOutput('AlarmTopicArn', { Value: Match.anyValue() });
  });
});

import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ITERATOR_AGE_THRESHOLD } from '../../lib/constructs/operations.ts';
import { FUNCTION_PERMISSIONS, type FunctionName } from '../../lib/permissions.ts';
import { type Synthesized, synthesize } from './parley-app.ts';

const NAMES = Object.keys(FUNCTION_PERMISSIONS) as FunctionName[];

type Alarm = { Properties: Record<string, unknown> };

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
        JSON.stringify(alarm.Properties.Dimensions) === JSON.stringify(dimensions),
    );

  it.each(NAMES)('alarms on any error or throttle of %s', (name) => {
    const dimensions = [
      { Name: 'FunctionName', Value: parley.stack.resolve(parley.stack.functions[name].functionName) },
    ];
    for (const metric of ['Errors', 'Throttles']) {
      const found = alarmsOn(metric, dimensions);
      expect(found, `${name} ${metric}`).toHaveLength(1);
      expect(found[0]?.Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms when delivery falls behind the stream', () => {
    const dimensions = [
      { Name: 'FunctionName', Value: parley.stack.resolve(parley.stack.functions.delivery.functionName) },
    ];
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
    expect(alarms.length).toBe(NAMES.length * 2 + 4);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([topic]);
      expect(alarm.Properties.OKActions).toEqual([topic]);
      expect(alarm.Properties.AlarmDescription).toEqual(expect.any(String));
    }
    parley.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: topic,
    });
  });

  it('has a dashboard over the same signals', () => {
    const dashboard = Object.values(parley.template.findResources('AWS::CloudWatch::Dashboard'))[0] as Alarm;
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of [
      'ConnectCount',
      'MessageCount',
      'IntegrationLatency',
      'Errors',
      'Duration',
      'IteratorAge',
    ]) {
      expect(body).toContain(metric);
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

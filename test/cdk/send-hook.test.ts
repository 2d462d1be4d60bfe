/**
 * The send hook in the CDK stack (integration.md): the `sendHook` prop, or context `sendHookArn`,
 * `sendHookTimeoutMs`, `sendHookOnFailure`, gives the send and edit functions, and only them, the
 * `SEND_HOOK_*` variables and `lambda:InvokeFunction` on that one function; their timeout grows by the
 * hook's; its failures are alarmed on and its answers graphed. Without a hook, none of that exists.
 * Every configuration stays clean under cdk-nag.
 */
import { App, Fn } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildParley } from '../../lib/app.ts';
import type { SendHookProps } from '../../lib/config.ts';
import { FUNCTION_PERMISSIONS, type FunctionName } from '../../lib/permissions.ts';
import { environmentOf, propertiesOf, type Synthesized, statementsOf, synthesize } from './parley-app.ts';

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:parley-send-hook';
const NAMES = Object.keys(FUNCTION_PERMISSIONS) as FunctionName[];
// The server API sends messages too (integration.md): through the hook like a client's.
const ASKING: FunctionName[] = ['send-message', 'edit-message', 'server-api'];
const OTHERS = NAMES.filter((name) => !ASKING.includes(name));

/** The app built with the `sendHook` prop (and context), as a project's own bin/ would. */
function withProps(sendHook: SendHookProps, context: Record<string, string> = {}): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = buildParley(app, { sendHook });
  return { stack, template: Template.fromStack(stack) };
}

const hookVariables = (parley: Synthesized, name: FunctionName) =>
  Object.fromEntries(
    Object.entries(environmentOf(parley, parley.stack.functions[name])).filter(([key]) =>
      key.startsWith('SEND_HOOK_'),
    ),
  );
const lambdaStatements = (parley: Synthesized, name: FunctionName) =>
  statementsOf(parley, parley.stack.functions[name]).filter((s) =>
    s.Action.some((a) => a.startsWith('lambda:')),
  );
const timeoutOf = (parley: Synthesized, name: FunctionName) =>
  propertiesOf(parley, parley.stack.functions[name].functionName).Timeout;

type Alarm = { Properties: Record<string, unknown> };
const hookAlarms = (parley: Synthesized) =>
  (Object.values(parley.template.findResources('AWS::CloudWatch::Alarm')) as Alarm[]).filter(
    (alarm) => alarm.Properties.MetricName === 'SendHookFailures',
  );
const dashboardBody = (parley: Synthesized) =>
  JSON.stringify(
    (Object.values(parley.template.findResources('AWS::CloudWatch::Dashboard'))[0] as Alarm).Properties
      .DashboardBody,
  );

describe('a send hook given as context', () => {
  let parley: Synthesized;
  beforeAll(() => {
    parley = synthesize({ sendHookArn: ARN, sendHookTimeoutMs: '2500', sendHookOnFailure: 'allow' });
  });

  it.each(ASKING)('%s gets the SEND_HOOK_* variables', (name) => {
    expect(hookVariables(parley, name)).toEqual({
      SEND_HOOK_ARN: ARN,
      SEND_HOOK_TIMEOUT_MS: '2500',
      SEND_HOOK_ON_FAILURE: 'allow',
    });
  });

  it.each(ASKING)('%s may invoke that one function, and nothing else in Lambda', (name) => {
    expect(lambdaStatements(parley, name)).toEqual([
      { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [ARN] },
    ]);
  });

  it.each(ASKING)('%s waits for the hook on top of its own 10 s', (name) => {
    expect(timeoutOf(parley, name)).toBe(13);
  });

  it.each(OTHERS)('%s gets neither the variables nor the grant, and keeps its timeout', (name) => {
    expect(hookVariables(parley, name)).toEqual({});
    expect(lambdaStatements(parley, name)).toEqual([]);
    expect(timeoutOf(parley, name)).toBe(name === 'delivery' || name === 'events' ? 60 : 10);
  });

  it('alarms when the hook fails 5 times in 5 minutes, whatever the reason', () => {
    const alarms = hookAlarms(parley);
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.Properties).toMatchObject({
      Namespace: 'Parley',
      MetricName: 'SendHookFailures',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 5,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    // The roll-up the handlers publish (no dimensions), so every reason counts.
    expect(alarms[0]?.Properties.Dimensions).toBeUndefined();
    expect(String(alarms[0]?.Properties.AlarmDescription)).toContain(
      'Runbook: docs/deploy.md, "Runbook", send-hook-failures',
    );
  });

  it('graphs the hook’s answers and its failures by reason', () => {
    const body = dashboardBody(parley);
    expect(body).toContain(
      '[\\"Parley\\",\\"SendHookAnswers\\",\\"Answer\\",\\"deny\\",\\"Event\\",\\"sendMessage\\"',
    );
    expect(body).toContain('[\\"Parley\\",\\"SendHookFailures\\",\\"Reason\\",\\"timeout\\"');
  });

  it('reports no unacknowledged cdk-nag finding', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(parley.stack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('a send hook given as the stack’s prop', () => {
  it('takes the defaults: 1000 ms, refuse', () => {
    const parley = withProps({ functionArn: ARN });
    expect(hookVariables(parley, 'send-message')).toEqual({
      SEND_HOOK_ARN: ARN,
      SEND_HOOK_TIMEOUT_MS: '1000',
      SEND_HOOK_ON_FAILURE: 'refuse',
    });
    expect(timeoutOf(parley, 'send-message')).toBe(11);
  });

  it('takes another construct’s ARN (a token), granting exactly it', () => {
    const parley = withProps({ functionArn: Fn.importValue('ModerationHookArn'), onFailure: 'allow' });
    const imported = { 'Fn::ImportValue': 'ModerationHookArn' };
    expect(lambdaStatements(parley, 'edit-message')).toEqual([
      { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [imported] },
    ]);
    expect(hookVariables(parley, 'edit-message')).toMatchObject({ SEND_HOOK_ARN: imported });
  });

  it('grants an alias only as that alias', () => {
    const parley = withProps({ functionArn: `${ARN}:live` });
    expect(lambdaStatements(parley, 'send-message')[0]?.Resource).toEqual([`${ARN}:live`]);
  });

  it('refuses a hook given both as the prop and as context', () => {
    expect(() => withProps({ functionArn: ARN }, { sendHookArn: ARN })).toThrow(
      /both as the "sendHook" prop and as context/,
    );
  });

  it.each([
    [{ functionArn: 'parley-send-hook' }, /sendHook.functionArn must be a Lambda function ARN/],
    [
      { functionArn: ARN, timeoutMs: 50 },
      /sendHook.timeoutMs must be a whole number of milliseconds from 100 to 5000/,
    ],
    [{ functionArn: ARN, timeoutMs: 5001 }, /sendHook.timeoutMs/],
    [{ functionArn: ARN, onFailure: 'ignore' as 'allow' }, /sendHook.onFailure must be one of refuse, allow/],
  ])('refuses %o at synth', (sendHook, message) => {
    expect(() => withProps(sendHook)).toThrow(message);
  });
});

describe('context that names no hook properly', () => {
  it.each([
    [
      { sendHookArn: 'arn:aws:sns:eu-west-1:123456789012:topic' },
      /Context "sendHookArn" must be a Lambda function ARN/,
    ],
    [{ sendHookArn: ARN, sendHookTimeoutMs: 'soon' }, /Context "sendHookTimeoutMs" must be a whole number/],
    [
      { sendHookArn: ARN, sendHookOnFailure: 'drop' },
      /Context "sendHookOnFailure" must be one of refuse, allow/,
    ],
    [{ sendHookOnFailure: 'allow' }, /need "sendHookArn"/],
  ])('fails synth: %o', (context, message) => {
    expect(() => synthesize(context)).toThrow(message);
  });
});

describe('without a send hook', () => {
  let parley: Synthesized;
  beforeAll(() => {
    parley = synthesize();
  });

  it.each(NAMES)('%s gets no SEND_HOOK_* variable, no Lambda permission and its usual timeout', (name) => {
    expect(hookVariables(parley, name)).toEqual({});
    expect(lambdaStatements(parley, name)).toEqual([]);
    expect(timeoutOf(parley, name)).toBe(name === 'delivery' || name === 'events' ? 60 : 10);
  });

  it('has no hook alarm and no hook graph', () => {
    expect(hookAlarms(parley)).toEqual([]);
    expect(dashboardBody(parley)).not.toContain('SendHook');
  });
});

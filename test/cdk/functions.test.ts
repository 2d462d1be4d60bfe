import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTACTS_INDEX, INBOX_INDEX, REPORTS_INDEX, UNREAD_INDEX } from '../../definitions/table.ts';
import { PUSH_ENV_NAMES } from '../../lib/config.ts';
import { FUNCTION_PERMISSIONS, type FunctionName, type FunctionPermissions } from '../../lib/permissions.ts';
import {
  actionsOf,
  environmentOf,
  PUSH_CONTEXT,
  propertiesOf,
  type Synthesized,
  statementsOf,
  synthesize,
} from './parley-app.ts';

const NAMES = Object.keys(FUNCTION_PERMISSIONS) as FunctionName[];
const permissionsOf = (name: FunctionName): FunctionPermissions => FUNCTION_PERMISSIONS[name];
const POSTERS = NAMES.filter((name) => permissionsOf(name).postToConnections === true);
const PUSHERS = NAMES.filter((name) => permissionsOf(name).push !== undefined);

describe('every Lambda function', () => {
  // GIVEN the app with every push platform configured
  let parley: Synthesized;
  beforeAll(() => {
    parley = synthesize(PUSH_CONTEXT);
  });

  it('has one function per route handler, the authorizer and the stream consumer', () => {
    expect(Object.keys(parley.stack.functions).sort()).toEqual([...NAMES].sort());
    parley.template.resourceCountIs('AWS::Lambda::Function', NAMES.length);
  });

  it.each(
    NAMES,
  )('%s runs on the current Node.js runtime on arm64, traced, with JSON logs in its own group', (name) => {
    const fn = parley.stack.functions[name];
    parley.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogFormat: 'JSON', LogGroup: parley.stack.resolve(fn.logGroup.logGroupName) },
      Role: parley.stack.resolve(fn.role?.roleArn),
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
    });
    expect(propertiesOf(parley, fn.logGroup.logGroupName).RetentionInDays).toBe(30);
  });

  it('sizes the route handlers small and the stream consumer for fan-out', () => {
    for (const name of NAMES) {
      const { MemorySize, Timeout } = propertiesOf(parley, parley.stack.functions[name].functionName);
      // The events consumer: small, with time for a batch's PutEvents and their retries.
      const expected = name === 'delivery' ? [512, 60] : name === 'events' ? [256, 60] : [256, 10];
      expect([name, MemorySize, Timeout]).toEqual([name, ...expected]);
    }
  });

  it.each(NAMES)('%s writes only to its own log group (no AWSLambdaBasicExecutionRole)', (name) => {
    const fn = parley.stack.functions[name];
    const logs = statementsOf(parley, fn).filter((s) => s.Action.some((a) => a.startsWith('logs:')));
    expect(logs).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [parley.stack.resolve(fn.logGroup.logGroupArn)],
      },
    ]);
    const role = propertiesOf(parley, fn.role?.roleName);
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.RoleName).toBeUndefined();
    expect(JSON.stringify(role.AssumeRolePolicyDocument)).toContain('lambda.amazonaws.com');
  });
});

describe('environment', () => {
  let parley: Synthesized;
  beforeAll(() => {
    parley = synthesize(PUSH_CONTEXT);
  });

  it.each(NAMES)('%s gets the table name', (name) => {
    expect(environmentOf(parley, parley.stack.functions[name]).TABLE_NAME).toEqual(
      parley.stack.resolve(parley.stack.table.tableName),
    );
  });

  it.each(NAMES)('%s gets the stage callback URL only if it posts to connections', (name) => {
    const env = environmentOf(parley, parley.stack.functions[name]);
    expect(env.WS_CALLBACK_URL).toEqual(
      POSTERS.includes(name) ? parley.stack.resolve(parley.stack.webSocket.stage.callbackUrl) : undefined,
    );
  });

  it('builds the callback URL from the stage: https://{api}.execute-api.{region}.{suffix}/{stage}', () => {
    expect(parley.stack.resolve(parley.stack.webSocket.stage.callbackUrl)).toEqual({
      'Fn::Join': [
        '',
        [
          'https://',
          parley.stack.resolve(parley.stack.webSocket.api.apiId),
          '.execute-api.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
          '/prod',
        ],
      ],
    });
  });

  it.each(NAMES)('%s gets the push platform application ARNs only if it calls SNS', (name) => {
    const env = environmentOf(parley, parley.stack.functions[name]);
    const expected = PUSHERS.includes(name)
      ? {
          PUSH_APP_ARN_APNS: PUSH_CONTEXT.pushAppArnApns,
          PUSH_APP_ARN_APNS_SANDBOX: PUSH_CONTEXT.pushAppArnApnsSandbox,
          PUSH_APP_ARN_FCM: PUSH_CONTEXT.pushAppArnFcm,
        }
      : {};
    expect(Object.fromEntries(Object.entries(env).filter(([key]) => PUSH_ENV_NAMES.includes(key)))).toEqual(
      expected,
    );
  });

  it('leaves a platform that is not configured unset', () => {
    // WHEN only FCM is configured
    const fcmOnly = synthesize({ pushAppArnFcm: PUSH_CONTEXT.pushAppArnFcm });
    for (const name of PUSHERS) {
      const env = environmentOf(fcmOnly, fcmOnly.stack.functions[name]);
      // THEN the APNs variables are absent (the handler answers bad_request for those platforms)
      expect(env).not.toHaveProperty('PUSH_APP_ARN_APNS');
      expect(env).not.toHaveProperty('PUSH_APP_ARN_APNS_SANDBOX');
      expect(env.PUSH_APP_ARN_FCM).toBe(PUSH_CONTEXT.pushAppArnFcm);
    }
  });

  it('sets LOG_LEVEL on every function only when configured', () => {
    for (const name of NAMES)
      expect(environmentOf(parley, parley.stack.functions[name])).not.toHaveProperty('LOG_LEVEL');
    const debug = synthesize({ logLevel: 'debug' });
    for (const name of NAMES)
      expect(environmentOf(debug, debug.stack.functions[name]).LOG_LEVEL).toBe('debug');
  });
});

describe('IAM, per function', () => {
  let parley: Synthesized;
  beforeAll(() => {
    parley = synthesize(PUSH_CONTEXT);
  });

  it.each(NAMES)('%s may send exactly the DynamoDB actions it uses, on the table', (name) => {
    const { stack } = parley;
    const statements = statementsOf(parley, stack.functions[name]).filter((s) =>
      s.Resource.some((r) => JSON.stringify(r) === JSON.stringify(stack.resolve(stack.table.table.tableArn))),
    );
    const expected = permissionsOf(name)
      .table.map((action) => `dynamodb:${action}`)
      .sort();
    expect(actionsOf(statements, 'dynamodb:')).toEqual(expected);
    for (const statement of statements) expect(statement.Resource).toHaveLength(1);
  });

  it.each(NAMES)('%s may query exactly the indexes it reads (badges: unread, the list: inbox)', (name) => {
    const { stack } = parley;
    const indexes: readonly string[] = permissionsOf(name).indexes ?? [];
    const onIndex = statementsOf(parley, stack.functions[name]).filter((s) =>
      s.Resource.some((r) => JSON.stringify(r).includes('/index/')),
    );
    expect(onIndex).toEqual(
      indexes.length > 0
        ? [
            {
              Effect: 'Allow',
              Action: ['dynamodb:Query'],
              Resource: indexes.map((index) => stack.resolve(`${stack.table.table.tableArn}/index/${index}`)),
            },
          ]
        : [],
    );
  });

  it('lets delivery read the unread index (badges) and the contacts index (presence), sync and the server API the inbox index (the list)', () => {
    const readers = (index: string) =>
      NAMES.filter((name) => ((permissionsOf(name).indexes ?? []) as readonly string[]).includes(index));
    expect(readers(UNREAD_INDEX)).toEqual(['delivery']);
    expect(readers(CONTACTS_INDEX)).toEqual(['delivery']);
    expect(readers(INBOX_INDEX)).toEqual(['sync', 'server-api']);
    // (1.2) The report queue is the operators': read by the server API (integration.md), which they call.
    expect(readers(REPORTS_INDEX)).toEqual(['server-api']);
  });

  it('grants no Scan, no PartiQL and no action wildcard to anyone', () => {
    const actions = Object.values(parley.template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).flatMap(
        (s) => s.Action,
      ),
    );
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => /^dynamodb:(Scan|PartiQL)|\*/.test(action))).toEqual([]);
  });

  it.each(NAMES)('%s may manage connections of this stage only if it posts to them', (name) => {
    const { stack } = parley;
    const statements = statementsOf(parley, stack.functions[name]).filter((s) =>
      s.Action.includes('execute-api:ManageConnections'),
    );
    if (!POSTERS.includes(name)) {
      expect(statements).toEqual([]);
      return;
    }
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['execute-api:ManageConnections'],
        Resource: [
          {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':execute-api:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':',
                stack.resolve(stack.webSocket.api.apiId),
                '/prod/*/@connections/*',
              ],
            ],
          },
        ],
      },
    ]);
  });

  it('lets register-device create endpoints under the configured applications only', () => {
    const statements = statementsOf(parley, parley.stack.functions['register-device']);
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['sns:CreatePlatformEndpoint'],
      Resource: [PUSH_CONTEXT.pushAppArnApns, PUSH_CONTEXT.pushAppArnApnsSandbox, PUSH_CONTEXT.pushAppArnFcm],
    });
  });

  it.each(PUSHERS)('%s may call SNS on the endpoints of the configured applications only', (name) => {
    // The failure topic is delivery's own statement (test/cdk/delivery.test.ts), not a push grant.
    const failureTopic = parley.stack.resolve(parley.stack.delivery.failureTopic.topicArn);
    const statements = statementsOf(parley, parley.stack.functions[name]).filter(
      (s) =>
        s.Action.some((a) => a.startsWith('sns:') && a !== 'sns:CreatePlatformEndpoint') &&
        JSON.stringify(s.Resource) !== JSON.stringify([failureTopic]),
    );
    const expectedActions = (permissionsOf(name).push ?? [])
      .filter((action) => action !== 'CreatePlatformEndpoint')
      .map((action) => `sns:${action}`);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: expectedActions,
        Resource: [
          'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/*',
          'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS_SANDBOX/parley-dev/*',
          'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/parley/*',
        ],
      },
    ]);
  });

  it.each(NAMES.filter((name) => !PUSHERS.includes(name)))('%s may not call SNS', (name) => {
    expect(actionsOf(statementsOf(parley, parley.stack.functions[name]), 'sns:')).toEqual([]);
  });

  it('grants no push action at all when no platform is configured', () => {
    const unconfigured = synthesize();
    const failureTopic = unconfigured.stack.resolve(unconfigured.stack.delivery.failureTopic.topicArn);
    const snsStatements = NAMES.flatMap((name) =>
      statementsOf(unconfigured, unconfigured.stack.functions[name]).filter((s) =>
        s.Action.some((a) => a.startsWith('sns:')),
      ),
    );
    // Only delivery's publish to its failure topic remains.
    expect(snsStatements).toEqual([{ Effect: 'Allow', Action: ['sns:Publish'], Resource: [failureTopic] }]);
  });

  it.each(NAMES)('%s holds a resource wildcard only where AWS offers no resource scoping', (name) => {
    const wildcards = statementsOf(parley, parley.stack.functions[name])
      .filter((s) => s.Resource.includes('*'))
      .flatMap((s) => s.Action);
    const allowed = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'dynamodb:ListStreams'];
    expect(wildcards.filter((action) => !allowed.includes(action))).toEqual([]);
  });
});

/**
 * The server API in the CDK stack (integration.md): an HTTP API with one route per operation of the
 * shared description (definitions/server-api.ts), every one authorized by IAM and integrated with the
 * one `server-api` function; the `$default` stage, auto-deployed, throttled and access-logged; a
 * managed policy granting `execute-api:Invoke` on this API only; the URL and the policy as outputs.
 * The function holds exactly its lib/permissions.ts entry, and cdk-nag stays clean.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_MODULES } from '../../definitions/handlers.ts';
import { SERVER_API, SERVER_API_OPERATIONS } from '../../definitions/server-api.ts';
import { INBOX_INDEX, REPORTS_INDEX } from '../../definitions/table.ts';
import { buildParley } from '../../lib/app.ts';
import {
  ParleyServerApi,
  routeKeyOf,
  SERVER_API_THROTTLE,
  type ServerApiOperationDefinition,
} from '../../lib/constructs/server-api.ts';
import { FUNCTION_PERMISSIONS } from '../../lib/permissions.ts';
import {
  actionsOf,
  environmentOf,
  PUSH_CONTEXT,
  type Synthesized,
  statementsOf,
  synthesize,
} from './parley-app.ts';

type Resource = { Properties: Record<string, unknown>; DependsOn?: string[] };
const NAME = SERVER_API.handler;
const PERMISSIONS = FUNCTION_PERMISSIONS[NAME];
const HOOK_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:parley-send-hook';

describe('the server API', () => {
  // GIVEN the app as `cdk deploy` builds it, with every push platform configured
  let parley: Synthesized;
  let apiRef: unknown;
  let routes: Record<string, Resource>;
  beforeAll(() => {
    parley = synthesize(PUSH_CONTEXT);
    apiRef = parley.stack.resolve(parley.stack.serverApi.api.apiId);
    routes = parley.template.findResources('AWS::ApiGatewayV2::Route', {
      Properties: { ApiId: apiRef },
    }) as Record<string, Resource>;
  });

  const resource = (logicalId: string) => parley.template.toJSON().Resources[logicalId] as Resource;

  it('is an HTTP API built from the very operations definitions/server-api.ts exports', () => {
    expect(parley.stack.serverApi.operations).toBe(SERVER_API_OPERATIONS);
    expect(apiRef).toEqual({ Ref: expect.any(String) });
    expect(resource((apiRef as { Ref: string }).Ref).Properties).toMatchObject({ ProtocolType: 'HTTP' });
    // No CORS: browsers never call it, the app's backend does.
    expect(resource((apiRef as { Ref: string }).Ref).Properties.CorsConfiguration).toBeUndefined();
  });

  it('has exactly one route per operation, and no other (an unknown path is refused by API Gateway)', () => {
    const keys = Object.values(routes).map((route) => route.Properties.RouteKey);
    expect([...keys].sort()).toEqual(SERVER_API_OPERATIONS.map(routeKeyOf).sort());
    expect(keys).not.toContain('$default');
    expect(keys.filter((key) => String(key).includes('{proxy+}'))).toEqual([]);
    for (const operation of SERVER_API_OPERATIONS)
      expect(operation.path.startsWith(SERVER_API.basePath)).toBe(true);
  });

  it('authorizes every route of the stack’s HTTP API with IAM (SigV4), none without', () => {
    const httpApis = Object.keys(
      parley.template.findResources('AWS::ApiGatewayV2::Api', { Properties: { ProtocolType: 'HTTP' } }),
    );
    expect(httpApis).toEqual([(apiRef as { Ref: string }).Ref]);
    expect(Object.values(routes).length).toBe(SERVER_API_OPERATIONS.length);
    for (const route of Object.values(routes)) {
      expect(route.Properties.AuthorizationType, String(route.Properties.RouteKey)).toBe('AWS_IAM');
      expect(route.Properties.AuthorizerId).toBeUndefined();
    }
  });

  it.each(
    SERVER_API_OPERATIONS.map((operation) => [operation.name, routeKeyOf(operation)] as const),
  )('routes %s (%s) to the server-api function, payload format 2.0', (_name, routeKey) => {
    // WHEN following the route to its integration
    const found = Object.values(routes).filter((route) => route.Properties.RouteKey === routeKey);
    expect(found).toHaveLength(1);
    const target = (found[0] as Resource).Properties.Target as {
      'Fn::Join': [string, [string, { Ref: string }]];
    };
    const integration = resource(target['Fn::Join'][1][1].Ref);
    // THEN it is a Lambda proxy integration of this API invoking the server API function
    expect(integration.Properties).toMatchObject({
      ApiId: apiRef,
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: parley.stack.resolve(parley.stack.functions[NAME].functionArn),
    });
    expect(found[0]?.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('lets API Gateway invoke the function from this API only', () => {
    const permissions = Object.values(
      parley.template.findResources('AWS::Lambda::Permission', {
        Properties: { FunctionName: parley.stack.resolve(parley.stack.functions[NAME].functionArn) },
      }),
    ) as Resource[];
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
    });
    expect(JSON.stringify(permissions[0]?.Properties.SourceArn)).toContain(JSON.stringify(apiRef));
  });

  it('deploys the $default stage itself, throttled', () => {
    const stages = Object.values(
      parley.template.findResources('AWS::ApiGatewayV2::Stage', { Properties: { ApiId: apiRef } }),
    ) as Resource[];
    expect(stages).toHaveLength(1);
    expect(stages[0]?.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: SERVER_API_THROTTLE.rateLimit,
        ThrottlingBurstLimit: SERVER_API_THROTTLE.burstLimit,
      },
    });
  });

  it('writes JSON access logs, with the caller and without headers or query strings, to a log group with retention', () => {
    const stage = Object.values(
      parley.template.findResources('AWS::ApiGatewayV2::Stage', { Properties: { ApiId: apiRef } }),
    )[0] as Resource;
    const settings = stage.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(JSON.parse(settings.Format)).toMatchObject({
      requestId: '$context.requestId',
      callerArn: '$context.identity.userArn',
      routeKey: '$context.routeKey',
      status: '$context.status',
      integrationError: '$context.integration.error',
    });
    // The SigV4 signature travels in headers (and may in the query string): never logged.
    expect(settings.Format).not.toMatch(/querystring|header|requestOverride/i);

    const logGroupArn = parley.stack.resolve(parley.stack.serverApi.accessLogs.logGroupArn) as {
      'Fn::GetAtt': [string, string];
    };
    expect(settings.DestinationArn).toEqual(logGroupArn);
    const logGroup = resource(logGroupArn['Fn::GetAtt'][0]);
    expect(logGroup.Properties.RetentionInDays).toBe(30);
    // Not the WebSocket API's group: each API logs on its own.
    expect(logGroupArn).not.toEqual(parley.stack.resolve(parley.stack.webSocket.accessLogs.logGroupArn));
  });

  it('outputs a managed policy granting execute-api:Invoke on this API only', () => {
    const policies = parley.template.findResources('AWS::IAM::ManagedPolicy');
    const policyRef = parley.stack.resolve(parley.stack.serverApi.invokePolicy.managedPolicyArn) as {
      Ref: string;
    };
    const policy = policies[policyRef.Ref] as Resource;
    expect(policy).toBeDefined();
    const document = policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] };
    expect(document.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'execute-api:Invoke',
        Resource: {
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
              apiRef,
              '/*',
            ],
          ],
        },
      },
    ]);
    // Attached to nothing in the stack: the operator attaches it to their backend's role.
    expect(policy.Properties.Roles).toBeUndefined();
    expect(policy.Properties.Users).toBeUndefined();
    expect(policy.Properties.Groups).toBeUndefined();
    // And no other statement in the stack lets anyone invoke it.
    const invokers = Object.values(parley.template.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).filter((s) =>
        ([] as string[]).concat(s.Action).includes('execute-api:Invoke'),
      ),
    );
    expect(invokers).toEqual([]);
  });

  it('outputs the URL and the policy ARN', () => {
    const outputs = parley.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ServerApiUrl?.Value).toEqual({
      'Fn::GetAtt': [(apiRef as { Ref: string }).Ref, 'ApiEndpoint'],
    });
    expect(outputs.ServerApiPolicyArn?.Value).toEqual(
      parley.stack.resolve(parley.stack.serverApi.invokePolicy.managedPolicyArn),
    );
    // The WebSocket API's outputs stay as they were.
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['WebSocketUrl', 'ManagementApiUrl']));
  });
});

describe('the server-api function', () => {
  let parley: Synthesized;
  beforeAll(() => {
    parley = synthesize({ ...PUSH_CONTEXT, contactPolicy: 'requests' });
  });

  it('is built from the handler module definitions/handlers.ts names', () => {
    expect(HANDLER_MODULES[NAME]).toBe('functions/server-api/handler.ts');
    parley.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('server API'),
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
    });
  });

  it('holds exactly the permissions of its lib/permissions.ts entry', () => {
    const { stack } = parley;
    const fn = stack.functions[NAME];
    const statements = statementsOf(parley, fn);
    const tableArn = JSON.stringify(stack.resolve(stack.table.table.tableArn));

    // DynamoDB: the entry's actions on the table, Query on its indexes, nothing else.
    const onTable = statements.filter((s) => s.Resource.some((r) => JSON.stringify(r) === tableArn));
    expect(actionsOf(onTable, 'dynamodb:')).toEqual(PERMISSIONS.table.map((a) => `dynamodb:${a}`).sort());
    expect(PERMISSIONS.indexes).toEqual([REPORTS_INDEX, INBOX_INDEX]);
    const onIndexes = statements.filter((s) => s.Resource.some((r) => JSON.stringify(r).includes('/index/')));
    expect(onIndexes).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: PERMISSIONS.indexes.map((index) =>
          stack.resolve(`${stack.table.table.tableArn}/index/${index}`),
        ),
      },
    ]);
    // The WebSocket stage's connections (deactivate and revoke close sockets).
    expect(actionsOf(statements, 'execute-api:')).toEqual(['execute-api:ManageConnections']);
    // Download links, under attachments/ only.
    expect(statements.filter((s) => s.Action.some((a) => a.startsWith('s3:')))).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [stack.resolve(stack.attachments.bucket.arnForObjects('attachments/*'))],
      },
    ]);
    // No push, no failure topic, no send hook (none is configured here).
    expect(actionsOf(statements, 'sns:')).toEqual([]);
    expect(actionsOf(statements, 'lambda:')).toEqual([]);
    // And nothing beyond: its own logs and X-Ray.
    const all = new Set(statements.flatMap((s) => s.Action));
    const expected = new Set([
      ...PERMISSIONS.table.map((a) => `dynamodb:${a}`),
      'dynamodb:Query',
      'execute-api:ManageConnections',
      's3:GetObject',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
    ]);
    expect([...all].sort()).toEqual([...expected].sort());
  });

  it('gets the configuration its permissions go with', () => {
    const { stack } = parley;
    const env = environmentOf(parley, stack.functions[NAME]);
    expect(env).toMatchObject({
      TABLE_NAME: stack.resolve(stack.table.tableName),
      WS_CALLBACK_URL: stack.resolve(stack.webSocket.stage.callbackUrl),
      ATTACHMENTS_BUCKET: stack.resolve(stack.attachments.bucket.bucketName),
      CONTACT_POLICY: 'requests',
    });
    expect(Object.keys(env).filter((key) => key.startsWith('PUSH_APP_ARN_'))).toEqual([]);
    expect(Object.keys(env).filter((key) => key.startsWith('SEND_HOOK_'))).toEqual([]);
  });

  it('asks the send hook when the deployment has one, and waits for it on top of its own 10 s', () => {
    const withHook = synthesize({ sendHookArn: HOOK_ARN, sendHookTimeoutMs: '2500' });
    const fn = withHook.stack.functions[NAME];
    expect(environmentOf(withHook, fn)).toMatchObject({
      SEND_HOOK_ARN: HOOK_ARN,
      SEND_HOOK_TIMEOUT_MS: '2500',
    });
    expect(statementsOf(withHook, fn).filter((s) => s.Action.some((a) => a.startsWith('lambda:')))).toEqual([
      { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [HOOK_ARN] },
    ]);
    const timeout = (withHook.template.toJSON().Resources as Record<string, Resource>)[
      (withHook.stack.resolve(fn.functionName) as { Ref: string }).Ref
    ]?.Properties.Timeout;
    expect(timeout).toBe(13);
  });
});

describe('cdk-nag, with the server API', () => {
  it.each([
    ['no configuration', {}],
    ['a send hook and the requests policy', { sendHookArn: HOOK_ARN, contactPolicy: 'requests' }],
  ])('reports no unacknowledged finding with %s', (_case, context) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
    const stack = buildParley(app);
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(
      report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('fixes access logging and authorization rather than acknowledging them, and acknowledges only the policy’s API-wide resource', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = buildParley(app);
    const acknowledged = stack.serverApi.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledged.map(([id]) => id)).toEqual([
      expect.stringMatching(
        /^(Annotation::)?AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:execute-api:.*\/\*\]$/,
      ),
    ]);
    for (const [id, reason] of acknowledged) expect(reason.length, id).toBeGreaterThan(40);
  });
});

describe('the ParleyServerApi construct', () => {
  const build = (operations: readonly ServerApiOperationDefinition[]) => {
    const stack = new Stack();
    const handler = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => ({ statusCode: 200 });'),
    });
    new ParleyServerApi(stack, 'ServerApi', {
      operations,
      handler,
      logRetention: RetentionDays.ONE_WEEK,
      throttle: { rateLimit: 5, burstLimit: 10 },
    });
    return Template.fromStack(stack);
  };

  it('gives a new operation its IAM-authorized route with no other change', () => {
    // GIVEN the operations with one more
    const extra: ServerApiOperationDefinition = {
      name: 'archiveConversation',
      method: 'POST',
      path: '/v1/conversations/{id}/archive',
    };
    // WHEN the API is built from them
    const template = build([...SERVER_API_OPERATIONS, extra]);
    // THEN it has its route, with IAM, and the stage takes the given limits
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /v1/conversations/{id}/archive',
      AuthorizationType: 'AWS_IAM',
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', SERVER_API_OPERATIONS.length + 1);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });

  it('refuses an operation listed twice at synth', () => {
    const [first] = SERVER_API_OPERATIONS;
    expect(() => build([first, { ...first, path: '/v1/other' }])).toThrow(
      /createConversation is listed twice/,
    );
  });
});

import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_ROUTE_THROTTLE,
  ROUTE_SELECTION_EXPRESSION,
  ROUTES,
  type RouteDefinition,
} from '../../definitions/routes.ts';
import { ParleyWebSocketApi } from '../../lib/constructs/websocket-api.ts';
import { type Synthesized, synthesize } from './parley-app.ts';

type Resource = { Properties: Record<string, unknown>; DependsOn?: string[] };
/** The route table seen through its interface, where `throttle` is optional on every entry. */
const TABLE_ROUTES: readonly RouteDefinition[] = ROUTES;

describe('WebSocket API', () => {
  // GIVEN the app as `cdk deploy` builds it, with no configuration
  let parley: Synthesized;
  let routes: Record<string, Resource>;
  let stage: Resource;
  beforeAll(() => {
    parley = synthesize();
    // This API's own routes and stage: the server API (server-api.test.ts) has its own.
    const ofThisApi = { Properties: { ApiId: parley.stack.resolve(parley.stack.webSocket.api.apiId) } };
    routes = parley.template.findResources('AWS::ApiGatewayV2::Route', ofThisApi) as Record<string, Resource>;
    const stages = Object.values(parley.template.findResources('AWS::ApiGatewayV2::Stage', ofThisApi));
    expect(stages).toHaveLength(1);
    stage = stages[0] as Resource;
  });

  const routeResource = (routeKey: string): [string, Resource] => {
    const found = Object.entries(routes).filter(([, route]) => route.Properties.RouteKey === routeKey);
    expect(found, `route ${routeKey}`).toHaveLength(1);
    return found[0] as [string, Resource];
  };

  it('selects routes by the action field of the frame', () => {
    parley.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    expect(ROUTE_SELECTION_EXPRESSION).toBe('$request.body.action');
  });

  it('has exactly one route per route table entry, and no other', () => {
    expect(
      Object.values(routes)
        .map((route) => route.Properties.RouteKey)
        .sort(),
    ).toEqual(ROUTES.map((route) => route.routeKey).sort());
    for (const key of ['$connect', '$disconnect', '$default'])
      expect(ROUTES.map((r) => r.routeKey)).toContain(key);
  });

  it.each(
    ROUTES.map((route) => [route.routeKey, route] as const),
  )('routes %s to its own handler function', (_key, route) => {
    // WHEN following the route to its integration
    const [, resource] = routeResource(route.routeKey);
    const target = resource.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
    const integrationId = target['Fn::Join'][1][1].Ref;
    const integration = parley.template.toJSON().Resources[integrationId] as Resource;

    // THEN it is a Lambda proxy integration invoking that handler's function
    expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
    const fn = parley.stack.functions[route.handler];
    expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain(
      JSON.stringify(parley.stack.resolve(fn.functionArn)),
    );
  });

  it.each(
    ROUTES.map((route) => [route.routeKey, route] as const),
  )('returns the handler body to the caller on %s exactly when the route is two-way', (_key, route) => {
    const [logicalId, resource] = routeResource(route.routeKey);
    const responses = parley.template.findResources('AWS::ApiGatewayV2::RouteResponse', {
      Properties: { RouteId: { Ref: logicalId }, RouteResponseKey: '$default' },
    });
    expect(Object.keys(responses)).toHaveLength(route.twoWay ? 1 : 0);
    expect(resource.Properties.RouteResponseSelectionExpression).toBe(route.twoWay ? '$default' : undefined);
  });

  it('guards $connect, and only $connect, with the REQUEST authorizer function', () => {
    const authorizers = parley.template.findResources('AWS::ApiGatewayV2::Authorizer');
    const [authorizerId, authorizer] = Object.entries(authorizers)[0] as [string, Resource];
    expect(Object.keys(authorizers)).toHaveLength(1);
    expect(authorizer.Properties).toMatchObject({ AuthorizerType: 'REQUEST' });
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(
      JSON.stringify(parley.stack.resolve(parley.stack.functions.authorizer.functionArn)),
    );

    const [, connect] = routeResource('$connect');
    expect(connect.Properties).toMatchObject({
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
    });
    for (const route of ROUTES.filter((r) => r.routeKey !== '$connect')) {
      expect(routeResource(route.routeKey)[1].Properties.AuthorizerId).toBeUndefined();
    }
  });

  it('lists no identity source, so a token in the query, a header or the subprotocol all reach the authorizer', () => {
    // Every listed identity source must be present or API Gateway answers 401 itself (see the
    // comment in websocket-api.ts); the authorizer finds the token wherever the client put it.
    parley.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { IdentitySource: [] });
  });

  it('lets API Gateway invoke the authorizer, for this API only', () => {
    parley.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      FunctionName: parley.stack.resolve(parley.stack.functions.authorizer.functionArn),
      SourceArn: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([parley.stack.resolve(parley.stack.webSocket.api.apiId)])],
      }),
    });
  });

  it('throttles the stage by default and overrides the routes the route table says', () => {
    const overridden = TABLE_ROUTES.filter((route) => route.throttle !== undefined);
    expect(overridden.length).toBeGreaterThan(0);

    parley.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'prod',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({
        ThrottlingRateLimit: DEFAULT_ROUTE_THROTTLE.rateLimit,
        ThrottlingBurstLimit: DEFAULT_ROUTE_THROTTLE.burstLimit,
      }),
      RouteSettings: Object.fromEntries(
        overridden.map((route) => [
          route.routeKey,
          {
            ThrottlingRateLimit: route.throttle?.rateLimit,
            ThrottlingBurstLimit: route.throttle?.burstLimit,
          },
        ]),
      ),
    });
  });

  it('creates the stage after the routes its settings name', () => {
    for (const route of TABLE_ROUTES.filter((r) => r.throttle !== undefined)) {
      expect(stage.DependsOn).toContain(routeResource(route.routeKey)[0]);
    }
  });

  it('writes JSON access logs, without query strings or headers, to a log group with retention', () => {
    const settings = stage.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };

    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      connectionId: '$context.connectionId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      integrationError: '$context.integration.error',
    });
    expect(settings.Format).not.toMatch(/querystring|header|requestOverride/i);

    const logGroupArn = parley.stack.resolve(parley.stack.webSocket.accessLogs.logGroupArn) as {
      'Fn::GetAtt': [string, string];
    };
    expect(settings.DestinationArn).toEqual(logGroupArn);
    const logGroup = parley.template.toJSON().Resources[logGroupArn['Fn::GetAtt'][0]] as Resource;
    expect(logGroup.Properties.RetentionInDays).toBe(30);
  });

  it('sets the account CloudWatch role that WebSocket logging needs, and keeps it on delete', () => {
    parley.template.hasResource('AWS::ApiGateway::Account', {
      Properties: { CloudWatchRoleArn: Match.anyValue() },
      DeletionPolicy: 'Retain',
    });
    const account = Object.keys(parley.template.findResources('AWS::ApiGateway::Account'))[0];
    expect(stage.DependsOn).toContain(account);
  });

  it('leaves the account setting alone when told to', () => {
    // WHEN the account already has its API Gateway CloudWatch role
    const { template } = synthesize({ apiGatewayAccountRole: 'false' });
    // THEN the stack does not touch it
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('a new action added to the route table', () => {
  it('gets its route, integration and throttle with no other change', () => {
    // GIVEN the route table with one more action
    const stack = new Stack();
    const handler = (id: string) =>
      new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_24_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('export const handler = async () => ({ statusCode: 200 });'),
      });
    const extra: RouteDefinition = {
      routeKey: 'archiveConversation',
      handler: 'archive-conversation',
      twoWay: true,
      throttle: { rateLimit: 20, burstLimit: 40 },
    };
    const routes = [...ROUTES, extra];
    const handlers = Object.fromEntries(routes.map((route) => [route.handler, handler(route.handler)]));

    // WHEN the API is built from it
    new ParleyWebSocketApi(stack, 'WebSocket', {
      routes,
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
      handlers,
      authorizer: handler('authorizer'),
      stageName: 'test',
      defaultThrottle: DEFAULT_ROUTE_THROTTLE,
      logRetention: RetentionDays.ONE_WEEK,
      manageAccountRole: false,
    });

    // THEN the action has its route, answered to the caller, and its stage override
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'archiveConversation',
      RouteResponseSelectionExpression: '$default',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: Match.objectLike({
        archiveConversation: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      }),
    });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', ROUTES.length + 1);
  });

  it('is refused at synth time when no function handles it', () => {
    const stack = new Stack();
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => ({});'),
    });
    expect(
      () =>
        new ParleyWebSocketApi(stack, 'WebSocket', {
          routes: [{ routeKey: 'orphan', handler: 'orphan', twoWay: false }],
          routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
          handlers: {},
          authorizer: fn,
          stageName: 'test',
          defaultThrottle: DEFAULT_ROUTE_THROTTLE,
          logRetention: RetentionDays.ONE_WEEK,
          manageAccountRole: false,
        }),
    ).toThrow(/No function for route orphan/);
  });
});

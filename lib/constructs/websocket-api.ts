/**
 * The WebSocket API: one route per entry of the shared route table (definitions/routes.ts, which
 * the local endpoint reads too), the REQUEST authorizer on `$connect`, and one stage with throttling
 * and JSON access logs.
 */
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../../definitions/routes.ts';

export interface ThrottleLimits {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface ParleyWebSocketApiProps {
  /** The route table; each entry's `handler` must have a function in `handlers`. */
  readonly routes: readonly RouteDefinition[];
  readonly routeSelectionExpression: string;
  readonly handlers: Readonly<Record<string, lambda.IFunction>>;
  readonly authorizer: lambda.IFunction;
  readonly stageName: string;
  readonly defaultThrottle: ThrottleLimits;
  readonly logRetention: logs.RetentionDays;
  /**
   * WebSocket stages can only write logs once the account's API Gateway settings name a CloudWatch
   * role. True creates that role and sets it (one setting per account and region, kept on delete).
   */
  readonly manageAccountRole: boolean;
}

/**
 * Access log line: ids, route, status, errors and latency. No query string and no headers, so a token
 * sent as `?token=` or in `Authorization` never reaches the log.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTimeEpoch: '$context.requestTimeEpoch',
  sourceIp: '$context.identity.sourceIp',
  connectionId: '$context.connectionId',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  status: '$context.status',
  userId: '$context.authorizer.principalId',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
  errorType: '$context.error.responseType',
  integrationStatus: '$context.integration.status',
  integrationError: '$context.integration.error',
  integrationLatency: '$context.integration.latency',
} as const;

export class ParleyWebSocketApi extends Construct {
  /** The route table this API was built from (the tests check it is the shared object). */
  readonly routes: readonly RouteDefinition[];
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly accessLogs: logs.LogGroup;
  readonly routeResources: ReadonlyMap<string, apigwv2.WebSocketRoute>;

  constructor(scope: Construct, id: string, props: ParleyWebSocketApiProps) {
    super(scope, id);
    this.routes = props.routes;

    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: Stack.of(this).stackName,
      description: 'Parley real-time messaging',
      routeSelectionExpression: props.routeSelectionExpression,
    });

    // No identity source, deliberately. API Gateway calls a REQUEST authorizer only when *every*
    // listed identity source is present (they are AND-ed, and a missing one answers 401 without
    // running the authorizer). Parley's clients send the token in one of three places, the `token`
    // query parameter, the `Authorization` header or the `Sec-WebSocket-Protocol` list, so any
    // single source would refuse the clients that use the other two. The API Gateway v2 reference
    // makes identity sources optional for REQUEST authorizers, and WebSocket APIs never cache
    // authorizer results, so nothing needs them as a cache key. The authorizer itself answers 401
    // when no token is found; the stage's throttling bounds what token-less attempts can cost.
    const authorizer = new WebSocketLambdaAuthorizer('Authorizer', props.authorizer, { identitySource: [] });

    const routeResources = new Map<string, apigwv2.WebSocketRoute>();
    for (const route of props.routes) {
      const handler = props.handlers[route.handler];
      if (handler === undefined)
        throw new Error(`No function for route ${route.routeKey} (${route.handler})`);
      const isConnect = route.routeKey === '$connect';
      const resource = this.api.addRoute(route.routeKey, {
        integration: new WebSocketLambdaIntegration(`${route.handler}-integration`, handler),
        ...(isConnect && { authorizer }),
        // Two-way routes: the handler's returned `body` goes back to the caller (route response
        // `$default`). `$connect` needs none: the Lambda proxy response's headers, such as the
        // chosen `Sec-WebSocket-Protocol`, go back on the upgrade response as they are.
        returnResponse: route.twoWay,
      });
      if (!isConnect) {
        Validations.of(resource).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'WebSocket APIs authorize once, on $connect (the only route that takes an authorizer); every ' +
            'later frame arrives on that authorized connection, with the identity in its request context.',
        });
      }
      routeResources.set(route.routeKey, resource);
    }
    this.routeResources = routeResources;

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName,
      autoDeploy: true,
      throttle: { rateLimit: props.defaultThrottle.rateLimit, burstLimit: props.defaultThrottle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.addRouteThrottles(props.routes, routeResources);
    if (props.manageAccountRole) this.setAccountCloudWatchRole();
  }

  /** Per-route overrides from the route table; the stage can only name routes that exist. */
  private addRouteThrottles(
    routes: readonly RouteDefinition[],
    routeResources: ReadonlyMap<string, apigwv2.WebSocketRoute>,
  ): void {
    const cfnStage = this.stage.node.defaultChild as apigwv2.CfnStage;
    const settings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const route of routes) {
      if (route.throttle === undefined) continue;
      settings[route.routeKey] = {
        ThrottlingRateLimit: route.throttle.rateLimit,
        ThrottlingBurstLimit: route.throttle.burstLimit,
      };
      const resource = routeResources.get(route.routeKey);
      if (resource) cfnStage.node.addDependency(resource);
    }
    if (Object.keys(settings).length > 0) cfnStage.routeSettings = settings;
  }

  private setAccountCloudWatchRole(): void {
    const role = new iam.Role(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: 'The policy AWS documents for API Gateway account logging; the role serves only that setting.',
    });
    const account = new CfnAccount(this, 'Account', { cloudWatchRoleArn: role.roleArn });
    // The setting is account-wide: other APIs' logging depends on it once it exists, so neither the
    // setting nor the role it names goes away with this stack.
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    this.stage.node.addDependency(account);
  }
}

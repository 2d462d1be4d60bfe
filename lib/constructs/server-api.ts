/**
 * The server API of integration.md: an HTTP API the app's backend calls over HTTPS, signed with SigV4.
 * One route per operation of the shared description (definitions/server-api.ts), each authorized by IAM,
 * so API Gateway refuses an unsigned or unauthorized request (403) and a path that is no operation (404)
 * before any Lambda runs; every route goes to the one server API function. The `$default` stage deploys
 * itself, is throttled and writes JSON access logs. A managed policy grants `execute-api:Invoke` on this
 * API: the operator attaches it to their backend's role.
 */
import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HttpMethod } from '../../definitions/server-api.ts';
import type { ThrottleLimits } from './websocket-api.ts';

/** What the construct needs of an operation of SERVER_API_OPERATIONS. */
export interface ServerApiOperationDefinition {
  readonly name: string;
  readonly method: HttpMethod;
  /** `{name}` is one path segment: the HTTP API's own path parameter syntax, used as it is. */
  readonly path: string;
}

/**
 * The stage's limits unless the stack says otherwise. One caller, the app's backend, server to
 * server: well above what one user's actions need, far below the account's API Gateway quota, so a
 * runaway backend loop is slowed down (429) before it costs the table its capacity.
 */
export const SERVER_API_THROTTLE: ThrottleLimits = { rateLimit: 100, burstLimit: 200 };

export interface ParleyServerApiProps {
  /** The operations, SERVER_API_OPERATIONS: one route each. */
  readonly operations: readonly ServerApiOperationDefinition[];
  /** The function behind every route. */
  readonly handler: lambda.IFunction;
  /** @default SERVER_API_THROTTLE */
  readonly throttle?: ThrottleLimits;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Access log line: ids, the caller's IAM identity, route, status, errors and latency. No headers and
 * no query string: the signature (`Authorization`, `X-Amz-Security-Token`) never reaches the log.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTimeEpoch: '$context.requestTimeEpoch',
  sourceIp: '$context.identity.sourceIp',
  callerAccountId: '$context.identity.accountId',
  callerArn: '$context.identity.userArn',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  error: '$context.error.message',
  errorType: '$context.error.responseType',
  authorizerError: '$context.authorizer.error',
  integrationStatus: '$context.integration.status',
  integrationError: '$context.integration.error',
  integrationLatency: '$context.integration.latency',
} as const;

/** The route key API Gateway gives an operation: `POST /v1/conversations`. */
export function routeKeyOf(operation: Pick<ServerApiOperationDefinition, 'method' | 'path'>): string {
  return `${operation.method} ${operation.path}`;
}

export class ParleyServerApi extends Construct {
  /** The operations this API was built from (the tests check it is the shared object). */
  readonly operations: readonly ServerApiOperationDefinition[];
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** By operation name. */
  readonly routes: ReadonlyMap<string, apigwv2.HttpRoute>;
  /** `execute-api:Invoke` on every route of this API, for the backend's role. */
  readonly invokePolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ParleyServerApiProps) {
    super(scope, id);
    this.operations = props.operations;

    this.api = new apigwv2.HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-server`,
      description: 'Parley server API: the app backend, signed with SigV4 (integration.md)',
      // The stage below, with its logs and throttling; the API's own default stage takes neither.
      createDefaultStage: false,
    });

    const authorizer = new HttpIamAuthorizer();
    // One integration for every route, and one invoke permission scoped to this API: every route
    // reaches the same function, so per-route permissions would only grow its resource policy.
    const integration = new HttpLambdaIntegration('Integration', props.handler, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      scopePermissionToRoute: false,
    });
    const routes = new Map<string, apigwv2.HttpRoute>();
    for (const operation of props.operations) {
      if (routes.has(operation.name))
        throw new Error(`Server API operation ${operation.name} is listed twice`);
      routes.set(
        operation.name,
        new apigwv2.HttpRoute(this, operation.name, {
          httpApi: this.api,
          routeKey: apigwv2.HttpRouteKey.with(operation.path, apigwv2.HttpMethod[operation.method]),
          integration,
          authorizer,
        }),
      );
    }
    this.routes = routes;

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    const throttle = props.throttle ?? SERVER_API_THROTTLE;
    this.stage = new apigwv2.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    this.invokePolicy = this.createInvokePolicy();
  }

  /**
   * The base URL, `https://{apiId}.execute-api.{region}.amazonaws.com`, without a trailing slash: the
   * operations' paths (`/v1/...`) follow it as they are.
   */
  get url(): string {
    return this.api.apiEndpoint;
  }

  private createInvokePolicy(): iam.ManagedPolicy {
    const stack = Stack.of(this);
    const policy = new iam.ManagedPolicy(this, 'InvokePolicy', {
      description: 'Calls the Parley server API (execute-api:Invoke): attach it to the app backend role',
      statements: [
        new iam.PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [
            stack.formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: '*' }),
          ],
        }),
      ],
    });
    const apiLogicalId = stack.resolve(
      stack.getLogicalId(this.api.node.defaultChild as CfnElement),
    ) as string;
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiLogicalId}>/*]`,
      reason:
        'The backend calls every operation of this one API, whose paths carry ids known only at run time; ' +
        'the grant names this API and no other, and each route still checks the signature.',
    });
    return policy;
  }
}

/**
 * Every Parley Lambda: one handler file bundled by esbuild into a minified ESM file with a source map,
 * on the current Node.js runtime on arm64 (cheaper per GB-second than x86 for the same work), with
 * X-Ray tracing and its own log group with a retention. Permissions and configuration are added
 * through intent methods that set the environment variable and the IAM statement together, so a
 * function never holds a permission without the configuration that uses it, or the reverse.
 */
import { fileURLToPath } from 'node:url';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { EVENT_BUS_ENV, EVENT_CONTENT_SETTING } from '../../definitions/events.ts';
import { SEND_HOOK_ENV, type SendHookSettings } from '../../definitions/send-hook.ts';
import { HANDLER_BUNDLING } from '../bundling.ts';
import { endpointArnPattern, type PushApplication } from '../config.ts';
import type { FunctionPermissions, PushAction } from '../permissions.ts';
import type { ChatTable } from './chat-table.ts';

/** The repository root: esbuild's working directory and where package-lock.json pins dependencies. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A function's timeout unless it says otherwise: well inside API Gateway's 29-second integration timeout. */
export const DEFAULT_TIMEOUT_SECONDS = 10;

/** NodejsFunction's names for the bundle formats lib/bundling.ts speaks of. */
const OUTPUT_FORMATS = { esm: OutputFormat.ESM } as const;

export interface ParleyFunctionProps {
  /** Absolute path of the handler module; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly logRetention: logs.RetentionDays;
  /** @default 256 MB: the handlers wait on DynamoDB and API Gateway, they do not compute. */
  readonly memorySize?: number;
  /** @default 10 seconds, well inside API Gateway's 29-second integration timeout. */
  readonly timeout?: Duration;
  /** `LOG_LEVEL` for functions/shared/logger.ts. @default - the logger's own default (info) */
  readonly logLevel?: string;
  /** The AWS Parameters and Secrets Lambda Extension layer. @default - none */
  readonly paramsAndSecrets?: lambda.ParamsAndSecretsLayerVersion;
}

export class ParleyFunction extends NodejsFunction {
  private readonly hasSecretsExtension: boolean;

  constructor(scope: Construct, id: string, props: ParleyFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: props.logRetention });
    // Its own role rather than the default one with AWSLambdaBasicExecutionRole, which may write to
    // any log group in the account: this one writes to its own log group only.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(DEFAULT_TIMEOUT_SECONDS),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      // Platform lines (START/REPORT) in JSON too; the handlers' own lines are JSON already.
      loggingFormat: lambda.LoggingFormat.JSON,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...(props.logLevel === undefined ? {} : { LOG_LEVEL: props.logLevel }),
      },
      ...(props.paramsAndSecrets && { paramsAndSecrets: props.paramsAndSecrets }),
      bundling: {
        // The project's own esbuild (a devDependency): no Docker, same output on every machine.
        forceDockerBundling: false,
        // ESM, node24, mainFields module,main, the require banner, minified, source maps without
        // sources, and the AWS SDK bundled rather than external: the settings the benchmark builds
        // with too, shared in lib/bundling.ts (where each one is explained).
        ...HANDLER_BUNDLING,
        format: OUTPUT_FORMATS[HANDLER_BUNDLING.format],
        mainFields: [...HANDLER_BUNDLING.mainFields],
        externalModules: [...HANDLER_BUNDLING.externalModules],
        logLevel: LogLevel.WARNING,
      },
    });
    this.hasSecretsExtension = props.paramsAndSecrets !== undefined;
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) and, for the stream consumer, ' +
        'dynamodb:ListStreams accept no resource-level scoping; every other statement names its resources.',
    });
  }

  /** `TABLE_NAME`, and exactly the DynamoDB actions (and index queries) the handler sends. */
  useTable(table: ChatTable, permissions: Pick<FunctionPermissions, 'table' | 'indexes'>): void {
    this.addEnvironment('TABLE_NAME', table.tableName);
    table.grantActions(this, permissions.table);
    table.grantIndexQuery(this, permissions.indexes ?? []);
  }

  /** `WS_CALLBACK_URL`, and `execute-api:ManageConnections` on that stage's connections only. */
  postToConnections(stage: WebSocketStage): void {
    this.addEnvironment('WS_CALLBACK_URL', stage.callbackUrl);
    stage.grantManagementApiAccess(this);
    const stack = Stack.of(stage);
    const apiLogicalId = stack.resolve(
      stack.getLogicalId(stage.api.node.defaultChild as CfnElement),
    ) as string;
    this.acknowledgeWildcard(
      `arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiLogicalId}>/${stage.stageName}/*/@connections/*`,
      'Connection ids exist only at run time; the grant is already limited to this API stage’s @connections.',
    );
  }

  /** `DELIVERY_FAILURE_TOPIC_ARN`, and `sns:Publish` on that topic only. */
  recordFailures(topic: sns.ITopic): void {
    this.addEnvironment('DELIVERY_FAILURE_TOPIC_ARN', topic.topicArn);
    topic.grantPublish(this);
  }

  /**
   * `EVENT_BUS_NAME` and `EVENT_CONTENT` (definitions/events.ts), and `events:PutEvents` on that bus
   * only.
   */
  publishEvents(bus: events.IEventBus, content: boolean): void {
    this.addEnvironment(EVENT_BUS_ENV, bus.eventBusName);
    this.addEnvironment(EVENT_CONTENT_SETTING.env, String(content));
    bus.grantPutEventsTo(this);
  }

  /**
   * `PUSH_APP_ARN_*` for the configured platforms, and the SNS calls `actions` on those platform
   * applications (CreatePlatformEndpoint) and on the endpoints SNS creates under them (the rest).
   * A platform that is not configured gets neither; its handler answers `bad_request`.
   */
  sendPush(applications: readonly PushApplication[], actions: readonly PushAction[]): void {
    for (const app of applications) this.addEnvironment(app.envName, app.applicationArn);
    if (applications.length === 0) return;
    const onApplications = actions.filter((action) => action === 'CreatePlatformEndpoint');
    const onEndpoints = actions.filter((action) => action !== 'CreatePlatformEndpoint');
    if (onApplications.length > 0) {
      this.addToRolePolicy(
        new iam.PolicyStatement({
          actions: onApplications.map((action) => `sns:${action}`),
          resources: applications.map((app) => app.applicationArn),
        }),
      );
    }
    if (onEndpoints.length > 0) {
      this.addToRolePolicy(
        new iam.PolicyStatement({
          actions: onEndpoints.map((action) => `sns:${action}`),
          resources: applications.map((app) => endpointArnPattern(app.applicationArn)),
        }),
      );
      for (const app of applications) {
        this.acknowledgeWildcard(
          endpointArnPattern(app.applicationArn),
          'SNS creates endpoint ARNs at run time; the grant covers only endpoints of this platform application.',
        );
      }
    }
  }

  /**
   * (1.2) `SEND_HOOK_ARN`, `SEND_HOOK_TIMEOUT_MS` and `SEND_HOOK_ON_FAILURE`, and `lambda:InvokeFunction`
   * on that one function (as named: an alias or version ARN allows that alias or version only).
   */
  invokeSendHook(hook: SendHookSettings): void {
    this.addEnvironment(SEND_HOOK_ENV.functionArn, hook.functionArn);
    this.addEnvironment(SEND_HOOK_ENV.timeoutMs, String(hook.timeoutMs));
    this.addEnvironment(SEND_HOOK_ENV.onFailure, hook.onFailure);
    this.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [hook.functionArn] }),
    );
  }

  /**
   * `JWT_SECRET_ID` names the secret; the handler reads the value at run time through the Parameters
   * and Secrets extension, so the secret itself never sits in the function's configuration.
   */
  readJwtSecret(secret: ISecret, secretId: string = secret.secretArn): void {
    if (!this.hasSecretsExtension) {
      throw new Error(`${this.node.path} reads a secret but has no Parameters and Secrets extension`);
    }
    this.addEnvironment('JWT_SECRET_ID', secretId);
    secret.grantRead(this);
  }

  private acknowledgeWildcard(resource: string, reason: string): void {
    Validations.of(this.role ?? this).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
  }
}

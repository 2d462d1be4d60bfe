/**
 * Parley in one stack: the table, one Lambda per route plus the authorizer and the two stream consumers,
 * the WebSocket API, delivery from the table's stream, events from it to the app backend's EventBridge
 * bus, mobile push permissions and operations.
 * Environment-agnostic (no lookups), so `cdk synth` runs offline; configuration comes from context
 * (lib/config.ts). Routes, table and stream settings are the shared objects from definitions/.
 */
import { join } from 'node:path';
import { Aws, CfnOutput, Duration, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import {
  CONTACT_POLICIES,
  CONTACT_POLICY_SETTING,
  type ContactPolicy,
  isContactPolicy,
} from '../definitions/contact-policy.ts';
import { EVENTS_STREAM } from '../definitions/events.ts';
import { FANOUT_SETTINGS, type FanoutSetting } from '../definitions/fanout.ts';
import { HANDLER_MODULES } from '../definitions/handlers.ts';
import {
  RATE_LIMIT_SETTINGS,
  RATE_LIMITED_ACTIONS,
  type RateLimitSetting,
} from '../definitions/rate-limits.ts';
import {
  AUTHORIZER,
  DEFAULT_ROUTE_THROTTLE,
  ROUTE_SELECTION_EXPRESSION,
  ROUTES,
} from '../definitions/routes.ts';
import type { SendHookSettings } from '../definitions/send-hook.ts';
import { SERVER_API, SERVER_API_OPERATIONS } from '../definitions/server-api.ts';
import { DELIVERY_STREAM } from '../definitions/stream.ts';
import { TABLE } from '../definitions/table.ts';
import {
  ConfigError,
  type ParleyConfig,
  readConfig,
  type SendHookProps,
  sendHookFromProps,
} from './config.ts';
import { AttachmentBucket } from './constructs/attachment-bucket.ts';
import { ChatTable } from './constructs/chat-table.ts';
import { DeliveryPipeline } from './constructs/delivery-pipeline.ts';
import { EventsPipeline } from './constructs/events-pipeline.ts';
import { Operations } from './constructs/operations.ts';
import { DEFAULT_TIMEOUT_SECONDS, ParleyFunction, PROJECT_ROOT } from './constructs/parley-function.ts';
import { ParleyServerApi } from './constructs/server-api.ts';
import { ParleyWebSocketApi } from './constructs/websocket-api.ts';
import { FUNCTION_PERMISSIONS, type FunctionName, type FunctionPermissions } from './permissions.ts';

export interface ParleyStackProps extends StackProps {
  /**
   * (1.2) The send hook (integration.md): a Lambda function Parley invokes before it stores every
   * `sendMessage` and `editMessage`. Context `sendHookArn` (with `sendHookTimeoutMs`,
   * `sendHookOnFailure`) gives the same from the command line; not both.
   * @default - no hook: nothing is invoked and nothing more is read
   */
  readonly sendHook?: SendHookProps;
  /**
   * (1.2) Who may start a conversation with whom (protocol.md, "Who may talk to whom"): `open`, anyone
   * with any user id; `requests`, a direct conversation is a request until its recipient answers or
   * accepts it, and groups are made of accepted contacts only. Context `contactPolicy` gives the same
   * from the command line; not both.
   * @default 'open'
   */
  readonly contactPolicy?: ContactPolicy;
}

export class ParleyStack extends Stack {
  readonly config: ParleyConfig;
  /** The send hook, from props or context, with its defaults; undefined without one. */
  readonly sendHook: SendHookSettings | undefined;
  /** The contact policy, from props or context, `open` when neither gives one. */
  readonly contactPolicy: ContactPolicy;
  readonly table: ChatTable;
  readonly attachments: AttachmentBucket;
  readonly functions: Readonly<Record<FunctionName, ParleyFunction>>;
  readonly webSocket: ParleyWebSocketApi;
  /** The server API (integration.md): the app's backend calls Parley over HTTPS, signed with SigV4. */
  readonly serverApi: ParleyServerApi;
  readonly delivery: DeliveryPipeline;
  /** Events to the app's backend (integration.md): the bus, and the stream's second consumer feeding it. */
  readonly events: EventsPipeline;
  readonly operations: Operations;
  /** The HS256 secret, when tokens are verified with one. */
  readonly jwtSecret?: secretsmanager.ISecret;

  constructor(scope: Construct, id: string, props: ParleyStackProps = {}) {
    const { sendHook, contactPolicy, ...stackProps } = props;
    super(scope, id, stackProps);
    const config = readConfig(this.node);
    this.config = config;
    this.sendHook = this.resolveSendHook(sendHook, config.sendHook);
    this.contactPolicy = this.resolveContactPolicy(contactPolicy, config.contactPolicy);
    const common = {
      logRetention: config.logRetentionDays as logs.RetentionDays,
      ...(config.logLevel !== undefined && { logLevel: config.logLevel }),
    };

    this.table = new ChatTable(this, 'Chat', { definition: TABLE });
    this.attachments = new AttachmentBucket(this, 'Attachments');

    // A function that waits for the send hook gets that wait on top: the commit after it keeps its time.
    const hookTimeout = (permissions: FunctionPermissions) =>
      permissions.sendHook === true && this.sendHook !== undefined
        ? { timeout: Duration.seconds(DEFAULT_TIMEOUT_SECONDS + Math.ceil(this.sendHook.timeoutMs / 1000)) }
        : {};

    const routeFunctions: Record<string, ParleyFunction> = {};
    for (const route of ROUTES) {
      routeFunctions[route.handler] = new ParleyFunction(this, `route-${route.handler}`, {
        ...common,
        entry: join(PROJECT_ROOT, HANDLER_MODULES[route.handler]),
        description: `Parley WebSocket route ${route.routeKey}`,
        ...hookTimeout(FUNCTION_PERMISSIONS[route.handler]),
      });
    }
    const authorizer = new ParleyFunction(this, AUTHORIZER.handler, {
      ...common,
      entry: join(PROJECT_ROOT, HANDLER_MODULES[AUTHORIZER.handler]),
      description: 'Parley $connect authorizer: verifies the JWT, refuses revoked and deactivated users',
      ...(config.jwt.kind === 'secret' && {
        // Reads the HS256 secret over localhost and caches it, so a cold start costs one
        // GetSecretValue and a warm invocation none.
        paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(
          lambda.ParamsAndSecretsVersions.V1_0_103,
          {
            cacheEnabled: true,
            secretsManagerTtl: Duration.minutes(5),
            logLevel: lambda.ParamsAndSecretsLogLevel.WARN,
          },
        ),
      }),
    });
    const delivery = new ParleyFunction(this, DELIVERY_STREAM.handler, {
      ...common,
      entry: join(PROJECT_ROOT, HANDLER_MODULES[DELIVERY_STREAM.handler]),
      description: 'Parley delivery: table stream to open connections and mobile push',
      // A batch fans out to every recipient's connections and devices: more memory is more CPU and
      // network for those parallel calls, and the timeout leaves room for SDK retries.
      memorySize: 512,
      timeout: Duration.seconds(60),
    });
    const eventsPublisher = new ParleyFunction(this, EVENTS_STREAM.handler, {
      ...common,
      entry: join(PROJECT_ROOT, HANDLER_MODULES[EVENTS_STREAM.handler]),
      description: 'Parley events: table stream to the EventBridge bus of the app backend',
      // Room for a batch's PutEvents calls and the retries of failed entries (functions/events/handler.ts).
      timeout: Duration.seconds(60),
    });
    const serverApi = new ParleyFunction(this, SERVER_API.handler, {
      ...common,
      entry: join(PROJECT_ROOT, HANDLER_MODULES[SERVER_API.handler]),
      description: 'Parley server API: the app backend, over HTTPS signed with SigV4',
      ...hookTimeout(FUNCTION_PERMISSIONS[SERVER_API.handler]),
    });
    this.functions = {
      ...routeFunctions,
      [AUTHORIZER.handler]: authorizer,
      [DELIVERY_STREAM.handler]: delivery,
      [EVENTS_STREAM.handler]: eventsPublisher,
      [SERVER_API.handler]: serverApi,
    } as Record<FunctionName, ParleyFunction>;

    this.webSocket = new ParleyWebSocketApi(this, 'WebSocket', {
      routes: ROUTES,
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
      handlers: routeFunctions,
      authorizer,
      stageName: config.stageName,
      defaultThrottle: DEFAULT_ROUTE_THROTTLE,
      logRetention: common.logRetention,
      manageAccountRole: config.manageApiGatewayAccountRole,
    });

    this.serverApi = new ParleyServerApi(this, 'ServerApi', {
      operations: SERVER_API_OPERATIONS,
      handler: serverApi,
      logRetention: common.logRetention,
    });

    this.delivery = new DeliveryPipeline(this, 'Delivery', {
      definition: DELIVERY_STREAM,
      table: this.table,
      consumer: delivery,
    });
    this.events = new EventsPipeline(this, 'Events', {
      definition: EVENTS_STREAM,
      table: this.table,
      consumer: eventsPublisher,
    });

    for (const [name, fn] of Object.entries(this.functions)) {
      this.grantPermissions(fn, FUNCTION_PERMISSIONS[name as FunctionName]);
    }
    // The function of every rate-limited route gets the limits as configured, read from the one list
    // (definitions/rate-limits.ts), so a newly limited action cannot run on the defaults unnoticed; so
    // does the server API, which acts for users under the same limits.
    const limited: FunctionName[] = [
      ...ROUTES.filter((route) => route.routeKey in RATE_LIMITED_ACTIONS).map((route) => route.handler),
      SERVER_API.handler,
    ];
    for (const name of limited) {
      for (const [setting, value] of Object.entries(config.rateLimits)) {
        this.functions[name].addEnvironment(
          RATE_LIMIT_SETTINGS[setting as RateLimitSetting].env,
          String(value),
        );
      }
    }
    this.jwtSecret = this.configureJwt(authorizer);

    this.operations = new Operations(this, 'Operations', {
      functions: this.functions,
      authorizer,
      streamConsumer: delivery,
      onFailureQueue: this.delivery.onFailureQueue,
      stage: this.webSocket.stage,
      table: this.table,
      ...(config.alarmEmail !== undefined && { alarmEmail: config.alarmEmail }),
      sendHook: this.sendHook !== undefined,
    });

    this.addOutputs();
  }

  private grantPermissions(fn: ParleyFunction, permissions: FunctionPermissions): void {
    fn.useTable(this.table, permissions);
    if (permissions.postToConnections) {
      fn.postToConnections(this.webSocket.stage);
      // Whoever fans out to connections honours the same per-user caps.
      for (const [setting, value] of Object.entries(this.config.fanout)) {
        fn.addEnvironment(FANOUT_SETTINGS[setting as FanoutSetting].env, String(value));
      }
    }
    if (permissions.push) fn.sendPush(this.config.push, permissions.push);
    if (permissions.failureQueue) fn.recordFailures(this.delivery.failureTopic);
    if (permissions.attachments) this.attachments.grantAccess(fn, permissions.attachments);
    if (permissions.sendHook && this.sendHook !== undefined) fn.invokeSendHook(this.sendHook);
    if (permissions.contactPolicy) fn.addEnvironment(CONTACT_POLICY_SETTING.env, this.contactPolicy);
    if (permissions.events) fn.publishEvents(this.events.bus, this.config.eventContent);
  }

  private resolveContactPolicy(
    props: ContactPolicy | undefined,
    fromContext: ContactPolicy | undefined,
  ): ContactPolicy {
    if (props !== undefined && fromContext !== undefined) {
      throw new ConfigError(
        'The contact policy is given both as the "contactPolicy" prop and as context: give one',
      );
    }
    const policy = props ?? fromContext ?? CONTACT_POLICY_SETTING.default;
    // The prop is typed, but a JavaScript caller or a cast can still pass anything.
    if (!isContactPolicy(policy)) {
      throw new ConfigError(
        `The "contactPolicy" prop must be ${CONTACT_POLICIES.join(' or ')}, got "${String(policy)}"`,
      );
    }
    return policy;
  }

  private resolveSendHook(
    props: SendHookProps | undefined,
    fromContext: SendHookSettings | undefined,
  ): SendHookSettings | undefined {
    if (props === undefined) return fromContext;
    // Two places naming a hook is one too many to guess which was meant.
    if (fromContext !== undefined) {
      throw new ConfigError('The send hook is given both as the "sendHook" prop and as context: give one');
    }
    return sendHookFromProps(props, Token.isUnresolved(props.functionArn));
  }

  private configureJwt(authorizer: ParleyFunction): secretsmanager.ISecret | undefined {
    const jwt = this.config.jwt;
    if (jwt.issuer !== undefined) authorizer.addEnvironment('JWT_ISSUER', jwt.issuer);
    if (jwt.audience !== undefined) authorizer.addEnvironment('JWT_AUDIENCE', jwt.audience);
    if (jwt.kind === 'jwks') {
      authorizer.addEnvironment('JWKS_URL', jwt.jwksUrl);
      return undefined;
    }
    const secret =
      jwt.secretId === undefined
        ? this.generateJwtSecret()
        : jwt.secretId.startsWith('arn:')
          ? secretsmanager.Secret.fromSecretCompleteArn(this, 'JwtSecret', jwt.secretId)
          : secretsmanager.Secret.fromSecretNameV2(this, 'JwtSecret', jwt.secretId);
    authorizer.readJwtSecret(secret, jwt.secretId ?? secret.secretArn);
    return secret;
  }

  /** Without configuration the stack makes its own HS256 secret, so a first deploy works as it is. */
  private generateJwtSecret(): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'JwtSecret', {
      description: 'Parley HS256 signing secret for client tokens',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating an HS256 signing secret invalidates every outstanding token at once; it is an operator ' +
        'decision (docs/deploy.md), and the authorizer picks a new value up within the extension cache TTL.',
    });
    return secret;
  }

  private addOutputs(): void {
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('WebSocketUrl', this.webSocket.stage.url, 'Clients connect here: wss://...?token={JWT}');
    output('TableName', this.table.tableName, 'The Parley table (users, revocations and deactivations)');
    output(
      'ManagementApiUrl',
      this.webSocket.stage.callbackUrl,
      'The @connections endpoint (closing a connection, e.g. of a deactivated user)',
    );
    output('Region', Aws.REGION, 'Region of the table and the API');
    output(
      'OnFailureQueueUrl',
      this.delivery.onFailureQueue.queueUrl,
      'Deliveries that could not complete: message identities, and stream pointers of crashed batches',
    );
    output(
      'DeliveryFunctionName',
      this.functions[DELIVERY_STREAM.handler].functionName,
      'The delivery function: `npm run admin -- redrive` invokes it with the on-failure queue entries',
    );
    output(
      'ServerApiUrl',
      this.serverApi.url,
      'The server API (integration.md): your backend calls {url}/v1/..., signed with SigV4 (service execute-api)',
    );
    output(
      'ServerApiPolicyArn',
      this.serverApi.invokePolicy.managedPolicyArn,
      'Managed policy granting execute-api:Invoke on the server API: attach it to your backend role',
    );
    output(
      'EventBusName',
      this.events.bus.eventBusName,
      'The EventBridge bus of Parley events (source "parley"): your backend adds its rules here',
    );
    output(
      'EventsOnFailureQueueUrl',
      this.events.onFailureQueue.queueUrl,
      'Stream pointers of records whose events could not be put on the bus after all retries',
    );
    output('AlarmTopicArn', this.operations.alarmTopic.topicArn, 'Subscribe to receive alarms');
    output('DashboardName', this.operations.dashboard.dashboardName, 'CloudWatch dashboard');
    if (this.jwtSecret) {
      output(
        'JwtSecretArn',
        this.jwtSecret.secretArn,
        'HS256 secret your token issuer signs with (value not shown)',
      );
    }
  }
}

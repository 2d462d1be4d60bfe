/**
 * The whole local stack in one process: DynamoDB Local with the shared table definition, the handlers
 * (configured through the same environment variables Lambda would give them, with local endpoints),
 * the API Gateway WebSocket endpoint and management API, the server API (SigV4-signed), the stream
 * poller (running delivery and the events consumer, each with its own place in the stream), the push
 * recorder and the event recorder (a local EventBridge), all on one port. `stop()` undoes everything, JVM included.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EVENT_BUS_ENV, EVENT_CONTENT_SETTING, EVENTS_STREAM } from '../definitions/events.ts';
import { PUSH_PLATFORMS } from '../definitions/push-platforms.ts';
import { ROUTE_SELECTION_EXPRESSION, ROUTES } from '../definitions/routes.ts';
import { SEND_HOOK_ENV } from '../definitions/send-hook.ts';
import { DELIVERY_STREAM } from '../definitions/stream.ts';
import { TABLE } from '../definitions/table.ts';
import { createTable } from './create-table.ts';
import { addDevTokenRoute } from './dev-token-route.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from './dynamodb-local.ts';
import { addEventRoutes, EVENTBRIDGE_PATH } from './events/event-routes.ts';
import { FakeEventBridge } from './events/fake-eventbridge.ts';
import { CutInvocations, withDeliveryFaults } from './faults/delivery-faults.ts';
import { startDynamoDbProxy } from './faults/dynamodb-proxy.ts';
import { FaultPlan, type FaultSpec } from './faults/fault-plan.ts';
import { addFaultRoutes } from './faults/fault-routes.ts';
import { LostConnections } from './faults/lost-connections.ts';
import { ConnectionRegistry } from './gateway/connections.ts';
import { addDropRoutes } from './gateway/drop-route.ts';
import type { ApiIdentity } from './gateway/events.ts';
import { createWebSocketEndpoint } from './gateway/websocket-endpoint.ts';
import { type LocalHandlers, loadHandlers } from './handlers.ts';
import { LocalRoutes } from './http/local-routes.ts';
import { createLocalServer, type LocalServerParts } from './http/server.ts';
import { DEFAULT_JWT_SECRET } from './jwt-secret.ts';
import { lambdaContext } from './lambda-context.ts';
import { localLog } from './log.ts';
import { addOperationsRoutes } from './operations-routes.ts';
import { FakeSns } from './push/fake-sns.ts';
import { addPushRoutes, SNS_PATH } from './push/push-routes.ts';
import { addFailureQueueRoutes, LocalFailureQueue } from './queue/failure-queue.ts';
import { addRedriveRoute } from './queue/redrive-route.ts';
import { type LocalS3, startLocalS3 } from './s3rver.ts';
import {
  addLambdaRoutes,
  LAMBDA_PATH,
  LOCAL_SEND_HOOK_NAME,
  type LocalSendHookOptions,
  loadSendHook,
} from './send-hook.ts';
import { ServerApiRoute } from './server-api/server-api-route.ts';
import { resolveLocalServerCredentials, type ServerApiCredentials } from './server-api/sigv4-verifier.ts';
import { StreamPoller } from './stream/stream-poller.ts';
import { addStreamRoute } from './stream/stream-route.ts';

export interface LocalStackOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  readonly dynamoDbPort: number;
  /** Keep DynamoDB data in this folder; in memory when undefined. */
  readonly persistDir: string | undefined;
  /**
   * A DynamoDB Local that is already running: the stack uses it (and leaves it running when it stops)
   * instead of starting its own JVM. The test suites run many stacks against one this way.
   */
  readonly dynamoDbEndpoint?: string;
  /** The table to use (created from the shared definition when missing); `parley-local` by default. */
  readonly tableName?: string;
  readonly idleTimeoutMs: number;
  readonly maxConnectionMs: number;
  /** Handlers to use instead of the project's (tests of the gateway itself). */
  readonly handlers?: LocalHandlers;
  /** Wraps the handlers once loaded: tests that need to hold an invocation at a chosen moment. */
  readonly wrapHandlers?: (handlers: LocalHandlers) => LocalHandlers;
  /**
   * Requests from other machines to `@connections` and `/_local/` need this key; without one they are
   * refused. Requests from this machine (the handlers' own) never need it.
   */
  readonly adminKey?: string;
  /** Faults to inject from the start (local/faults/; off when undefined). `/_local/faults` changes them. */
  readonly faults?: FaultSpec;
  /** Seed of the fault plan's generator, so that a run's draws can be repeated; random when undefined. */
  readonly faultSeed?: number;
  /** (1.2) A send hook module to run in process (`--send-hook`); none when undefined. */
  readonly sendHook?: LocalSendHookOptions;
  /**
   * What the server API's SigV4 signatures are checked against; by default the documented local
   * credentials, or `PARLEY_LOCAL_ACCESS_KEY_ID` / `PARLEY_LOCAL_SECRET_ACCESS_KEY` when set.
   */
  readonly serverApiCredentials?: ServerApiCredentials;
  /** Events carry message content (`--event-content`, definitions/events.ts); off when undefined. */
  readonly eventContent?: boolean;
}

export interface LocalStack {
  /** `ws://localhost:{port}` */
  readonly url: string;
  /** `http://localhost:{port}`: management API and `/_local/` endpoints. */
  readonly httpUrl: string;
  readonly port: number;
  readonly dynamoDbEndpoint: string;
  readonly tableName: string;
  /** Where features add their local-only endpoints. */
  readonly localRoutes: LocalRoutes;
  /** The fault plan in force (also at `/_local/faults`). */
  readonly faults: FaultPlan;
  /** What server API requests (`{httpUrl}/v1/…`) must be signed with. */
  readonly serverApiCredentials: ServerApiCredentials;
  stop(): Promise<void>;
}

export const LOCAL_TABLE_NAME = 'parley-local';
export const LOCAL_API = {
  apiId: 'local',
  stage: 'local',
  region: LOCAL_REGION,
  accountId: '000000000000',
} as const;
/** What the delivery handler publishes its failures to; the local stack queues them (`/_local/delivery-failures`). */
const DELIVERY_FAILURE_TOPIC_ARN = `arn:aws:sns:${LOCAL_REGION}:${LOCAL_API.accountId}:parley-delivery-failures`;
/** Lambda's timeout for the delivery function in the stack. */
const DELIVERY_TIMEOUT_MS = 60_000;
/** The local event bus (the stack's is `{stackName}-events`); `GET /_local/events` shows what it got. */
export const LOCAL_EVENT_BUS_NAME = 'parley-local-events';
/** Lambda's timeout for the events function in the stack. */
const EVENTS_TIMEOUT_MS = 60_000;

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const cleanup: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of cleanup.reverse().splice(0)) await step();
  };
  try {
    const tableName = options.tableName ?? LOCAL_TABLE_NAME;
    const db =
      options.dynamoDbEndpoint === undefined
        ? await startDynamoDbLocal({
            port: options.dynamoDbPort,
            persistDir: options.persistDir,
            sharedDb: true,
          })
        : { endpoint: options.dynamoDbEndpoint, stop: async () => {} };
    cleanup.push(() => db.stop());
    const streamArn = await prepareTable(db.endpoint, tableName);
    const faults = new FaultPlan(options.faults, options.faultSeed);
    // The handlers' DynamoDB calls pass through the fault proxy (see dynamodb-proxy.ts for why always).
    const dynamoProxy = await startDynamoDbProxy(db.endpoint, faults);
    cleanup.push(() => dynamoProxy.stop());
    const s3 = await startLocalS3({ persistDir: options.persistDir, credentials: LOCAL_CREDENTIALS });
    cleanup.push(() => s3.stop());

    const registry = new ConnectionRegistry();
    const lost = new LostConnections();
    const localRoutes = new LocalRoutes();
    addFaultRoutes(localRoutes, faults);
    const sns = new FakeSns(faults);
    addPushRoutes(localRoutes, sns);
    addEventRoutes(localRoutes, new FakeEventBridge(LOCAL_EVENT_BUS_NAME));
    const failureQueue = new LocalFailureQueue();
    sns.subscribeTopic(DELIVERY_FAILURE_TOPIC_ARN, (message) => failureQueue.add(message));
    addFailureQueueRoutes(localRoutes, failureQueue);
    addDropRoutes(localRoutes, registry, lost);
    const serverApiCredentials = options.serverApiCredentials ?? resolveLocalServerCredentials();
    // Its handler comes with the others, once the environment is set; until then it answers 503.
    const serverApi = new ServerApiRoute({ credentials: serverApiCredentials });
    const parts: LocalServerParts = {
      registry,
      localRoutes,
      endpoint: undefined,
      admin: { key: options.adminKey },
      faults,
      serverApi,
    };
    const server = createLocalServer(parts);
    const sockets = trackSockets(server);
    const port = await listen(server, options.port, options.host);
    cleanup.push(() => closeServer(server, sockets));
    const httpUrl = `http://localhost:${port}`;

    configureHandlerEnvironment(dynamoProxy.endpoint, tableName, `http://127.0.0.1:${port}`, s3);
    process.env[EVENT_CONTENT_SETTING.env] = String(options.eventContent ?? EVENT_CONTENT_SETTING.default);
    await configureSendHook(localRoutes, `http://127.0.0.1:${port}`, options.sendHook);
    addOperationsRoutes(localRoutes);
    addDevTokenRoute(localRoutes);
    const loaded = options.handlers ?? (await loadHandlers());
    const handlers = options.wrapHandlers?.(loaded) ?? loaded;
    serverApi.handler = handlers.serverApi;
    const endpoint = createWebSocketEndpoint({
      api: { ...LOCAL_API, domainName: `localhost:${port}` } satisfies ApiIdentity,
      registry,
      routes: ROUTES,
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
      handlers,
      idleTimeoutMs: options.idleTimeoutMs,
      maxConnectionMs: options.maxConnectionMs,
      faults: { plan: faults, lost },
    });
    parts.endpoint = endpoint;
    cleanup.push(() => endpoint.shutdown());

    const streams = new DynamoDBStreamsClient({
      endpoint: db.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    // Crashes and timeouts are injected around the handler, where Lambda's runtime would fail.
    const cutInvocations = new CutInvocations();
    const deliver = withDeliveryFaults(
      faults,
      handlers.delivery,
      () => lambdaContext('delivery', DELIVERY_TIMEOUT_MS),
      cutInvocations,
    );
    const poller = new StreamPoller({
      client: streams,
      streamArn,
      region: LOCAL_REGION,
      partitionKey: TABLE.partitionKey.name,
      settings: DELIVERY_STREAM,
      invoke: async (records) => {
        const started = Date.now();
        const response = await deliver(records);
        const failed = response?.batchItemFailures?.length ?? 0;
        localLog.info(
          `delivery batch of ${records.length}${failed ? `, ${failed} failed` : ''} (${Date.now() - started} ms)`,
        );
        return response;
      },
      // As the stack's SqsDlq: a batch the mapping gives up goes to the failure queue as a stream pointer.
      onFailure: (record) => failureQueue.add(JSON.stringify(record)),
    });
    await poller.start();
    // The events consumer (definitions/events.ts), as the stack's second event source mapping: its own
    // shard iterators, filters, lanes and retries, so that it neither waits for delivery nor repeats
    // delivery's retries. What it gives up is logged loudly (the stack sends it to its own queue).
    const eventsHandler = handlers.eventsConsumer;
    const eventsPoller =
      eventsHandler === undefined
        ? undefined
        : new StreamPoller({
            consumer: EVENTS_STREAM.handler,
            client: streams,
            streamArn,
            region: LOCAL_REGION,
            partitionKey: TABLE.partitionKey.name,
            settings: EVENTS_STREAM,
            invoke: async (records) => {
              const response = await eventsHandler(
                { Records: records },
                lambdaContext(EVENTS_STREAM.handler, EVENTS_TIMEOUT_MS),
              );
              const failed = response?.batchItemFailures?.length ?? 0;
              if (failed > 0) localLog.warn(`events: batch of ${records.length}, ${failed} to retry`);
              return response;
            },
          });
    await eventsPoller?.start();
    addStreamRoute(localRoutes, poller, cutInvocations, eventsPoller);
    // `npm run admin -- redrive --local`: the queue's entries through the same delivery handler.
    addRedriveRoute(localRoutes, {
      queue: failureQueue,
      streams,
      region: LOCAL_REGION,
      deliver: (event) => handlers.delivery(event, lambdaContext('delivery', DELIVERY_TIMEOUT_MS)),
    });
    // Registered before the gateway's shutdown step, so it runs after it: $disconnect writes still stream.
    cleanup.splice(cleanup.length - 1, 0, async () => {
      await Promise.all([poller.stop(), eventsPoller?.stop()]);
      streams.destroy();
    });

    return {
      url: `ws://localhost:${port}`,
      httpUrl,
      port,
      dynamoDbEndpoint: db.endpoint,
      tableName,
      localRoutes,
      faults,
      serverApiCredentials,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The table from the shared definition (kept when a persisted database already has it); its stream ARN. */
async function prepareTable(endpoint: string, tableName: string): Promise<string> {
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    await createTable(client, tableName).catch((error: unknown) => {
      if (!(error instanceof ResourceInUseException)) throw error;
    });
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.LatestStreamArn === undefined) throw new Error(`Table ${tableName} has no stream`);
    return Table.LatestStreamArn;
  } finally {
    client.destroy();
  }
}

/**
 * What Lambda's environment would hold, pointed at local endpoints. Handler modules read it at import
 * time, so this runs before the first handler import. Values the user set (JWT settings, log level)
 * are kept.
 */
function configureHandlerEnvironment(
  dynamoDbEndpoint: string,
  tableName: string,
  callbackUrl: string,
  s3: LocalS3,
): void {
  const env = process.env;
  env.ATTACHMENTS_BUCKET = s3.bucket;
  env.S3_ENDPOINT = s3.endpoint;
  env.TABLE_NAME = tableName;
  env.DYNAMODB_ENDPOINT = dynamoDbEndpoint;
  env.WS_CALLBACK_URL = callbackUrl;
  env.SNS_ENDPOINT = `${callbackUrl}${SNS_PATH}`;
  env.DELIVERY_FAILURE_TOPIC_ARN = DELIVERY_FAILURE_TOPIC_ARN;
  env.EVENTBRIDGE_ENDPOINT = `${callbackUrl}${EVENTBRIDGE_PATH}`;
  env[EVENT_BUS_ENV] = LOCAL_EVENT_BUS_NAME;
  env.AWS_REGION = LOCAL_REGION;
  env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  for (const { sns, appArnEnv } of Object.values(PUSH_PLATFORMS)) {
    env[appArnEnv] = `arn:aws:sns:${LOCAL_REGION}:${LOCAL_API.accountId}:app/${sns}/parley-local`;
  }
  env.JWT_SECRET ||= DEFAULT_JWT_SECRET;
  env.LOG_LEVEL ||= 'info';
}

/**
 * The send hook's module, loaded and served as a Lambda function on this port, and the variables that
 * point the send and edit handlers at it (as the CDK stack's would at the deployed one). Without one,
 * no hook variable reaches the handlers, whatever the shell holds.
 */
async function configureSendHook(
  localRoutes: LocalRoutes,
  baseUrl: string,
  hook: LocalSendHookOptions | undefined,
): Promise<void> {
  const env = process.env;
  for (const name of Object.values(SEND_HOOK_ENV)) delete env[name];
  delete env.LAMBDA_ENDPOINT;
  if (hook === undefined) return;
  const handler = await loadSendHook(hook.modulePath);
  addLambdaRoutes(localRoutes, new Map([[LOCAL_SEND_HOOK_NAME, handler]]), hook.timeoutMs);
  env.LAMBDA_ENDPOINT = `${baseUrl}${LAMBDA_PATH}`;
  env[SEND_HOOK_ENV.functionArn] =
    `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_API.accountId}:function:${LOCAL_SEND_HOOK_NAME}`;
  env[SEND_HOOK_ENV.timeoutMs] = String(hook.timeoutMs);
  env[SEND_HOOK_ENV.onFailure] = hook.onFailure;
}

export { DEFAULT_JWT_SECRET };

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Every socket the server accepted and still holds, WebSocket ones included. */
function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/**
 * `server.close()` calls back once every socket it accepted has closed, but `closeAllConnections()`
 * reaches only HTTP connections: a socket handed over to WebSocket, or one whose client went away
 * mid-request (seen in a chaos run: CLOSE-WAIT, its request waiting on a stopped poller), kept the
 * stack from ever exiting. Whatever is still open when the server stops is destroyed.
 */
function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
  });
}

/**
 * The local API Gateway WebSocket endpoint: authorizer and `$connect` at the upgrade, route selection,
 * API Gateway's limits (128 KiB messages, no binary, idle and maximum connection time), two-way route
 * replies, and `$disconnect` when a connection ends. Routes run concurrently, as Lambda invocations do:
 * a slow handler never holds up the next message of the same connection.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { RouteDefinition } from '../../definitions/routes.ts';
import type { FaultPlan } from '../faults/fault-plan.ts';
import type { LostConnections } from '../faults/lost-connections.ts';
import type { LocalHandlers, RouteResult } from '../handlers.ts';
import { lambdaContext } from '../lambda-context.ts';
import { localLog } from '../log.ts';
import { authorize } from './authorize.ts';
import {
  type Connection,
  type ConnectionRegistry,
  closeConnection,
  MAX_MESSAGE_BYTES,
} from './connections.ts';
import {
  type ApiIdentity,
  authorizerEvent,
  connectEvent,
  disconnectEvent,
  messageEvent,
  type UpgradeRequest,
  type WebSocketEvent,
} from './events.ts';
import { newConnectionId } from './ids.ts';
import { routeSelector } from './route-selection.ts';

export interface WebSocketEndpointOptions {
  readonly api: ApiIdentity;
  readonly registry: ConnectionRegistry;
  readonly routes: readonly RouteDefinition[];
  readonly routeSelectionExpression: string;
  readonly handlers: LocalHandlers;
  /** API Gateway closes a connection without client messages for this long (10 minutes). */
  readonly idleTimeoutMs: number;
  /** API Gateway closes every connection after this long (2 hours). */
  readonly maxConnectionMs: number;
  /**
   * Fault injection (local/faults/): `lose` cuts a connection at a client frame, which is lost with it,
   * and a connection in `lost` ends without `$disconnect`.
   */
  readonly faults?: { readonly plan: FaultPlan; readonly lost: LostConnections };
}

export interface WebSocketEndpoint {
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes every connection with 1001 and waits for the `$disconnect` routes to finish. */
  shutdown(): Promise<void>;
}

/** API Gateway's integration timeout. */
const ROUTE_TIMEOUT_MS = 29_000;
const GOING_AWAY = { code: 1001, reason: 'Going away' };

export function createWebSocketEndpoint(options: WebSocketEndpointOptions): WebSocketEndpoint {
  const { api, registry, handlers } = options;
  const twoWay = new Set(options.routes.filter((route) => route.twoWay).map((route) => route.routeKey));
  const selectRoute = routeSelector(
    options.routeSelectionExpression,
    options.routes.map((route) => route.routeKey),
  );
  // The subprotocol `$connect` chose for each pending upgrade, answered by `handleProtocols`.
  const chosenProtocol = new WeakMap<IncomingMessage, string>();
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    handleProtocols: (_offered, request) => chosenProtocol.get(request) ?? false,
  });
  const running = new Set<Promise<unknown>>();
  let stopping = false;

  const track = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    work.finally(() => running.delete(work)).catch(() => undefined);
    return work;
  };

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    if (stopping) return refuse(socket, 503, 'ServiceUnavailable', 'local stack is stopping');
    const url = new URL(request.url ?? '/', 'http://localhost');
    const info: UpgradeRequest = {
      connectionId: newConnectionId(),
      connectedAt: Date.now(),
      sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      localPort: request.socket.localPort ?? 0,
      userAgent: request.headers['user-agent'],
      rawHeaders: request.rawHeaders,
      query: url.searchParams,
    };
    const id = info.connectionId;

    const outcome = await authorize(handlers.authorizer, authorizerEvent(api, info));
    if (!outcome.allowed) {
      localLog.info(`refused ${id}: ${outcome.statusCode} (${outcome.reason})`);
      const refusal = REFUSALS[outcome.statusCode];
      return refuse(socket, outcome.statusCode, refusal.type, refusal.message);
    }
    const label = `${String(outcome.values.userId ?? outcome.values.principalId)}${
      outcome.values.deviceId ? `/${String(outcome.values.deviceId)}` : ''
    }`;
    const connection: Connection = {
      upgrade: info,
      authorizer: outcome.values,
      label,
      state: 'connecting',
      socket: undefined,
      lastActiveAt: info.connectedAt,
      closeCause: undefined,
    };
    registry.add(connection);

    const connectResult = await invoke('$connect', connectEvent(api, info, outcome.values));
    if (connectResult.failed) {
      registry.remove(id);
      localLog.error(`$connect ${id} ${label} threw: ${connectResult.error}; refusing with 502`);
      return refuse(socket, 502, 'IntegrationFailure', 'Internal server error');
    }
    const statusCode = connectResult.result?.statusCode ?? 200;
    if (statusCode < 200 || statusCode > 299) {
      registry.remove(id);
      localLog.info(`$connect ${id} ${label} -> ${statusCode}: refused`);
      return refuse(socket, statusCode, undefined, connectResult.result?.body ?? '');
    }
    if (socket.destroyed || stopping) {
      // The client left while `$connect` ran, or the stack is stopping: API Gateway still reports the
      // disconnect. The socket is ended here, or the HTTP server's close would wait for it forever.
      connection.state = 'closed';
      registry.remove(id);
      socket.destroy();
      track(disconnect(connection, 1006, stopping ? 'Stack stopping' : 'Client left during $connect'));
      return;
    }
    const protocol = headerValue(connectResult.result?.headers, 'sec-websocket-protocol');
    if (protocol !== undefined) chosenProtocol.set(request, protocol);
    server.handleUpgrade(request, socket, head, (ws) => open(connection, ws));
  }

  function open(connection: Connection, ws: WebSocket): void {
    const { connectionId } = connection.upgrade;
    connection.socket = ws;
    connection.state = 'open';
    localLog.info(`connected ${connectionId} ${connection.label}`);
    const openConnection = connection as Connection & { socket: WebSocket };
    let idleTimer = setTimeout(
      () => closeConnection(openConnection, GOING_AWAY.code, GOING_AWAY.reason),
      options.idleTimeoutMs,
    );
    const maxTimer = setTimeout(
      () => closeConnection(openConnection, GOING_AWAY.code, GOING_AWAY.reason),
      options.maxConnectionMs,
    );

    ws.on('message', (data, isBinary) => {
      connection.lastActiveAt = Date.now();
      clearTimeout(idleTimer);
      idleTimer = setTimeout(
        () => closeConnection(openConnection, GOING_AWAY.code, GOING_AWAY.reason),
        options.idleTimeoutMs,
      );
      if (isBinary) {
        closeConnection(openConnection, 1003, 'Binary messages are not supported');
        return;
      }
      if (options.faults?.plan.next('lose')) {
        void options.faults.lost.lose(openConnection, 'injected fault at a client frame');
        return;
      }
      const body = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      track(route(openConnection, selectRoute(body), body));
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws closes with 1009 itself when a message exceeds maxPayload; remember why for $disconnect.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        connection.closeCause ??= { code: 1009, reason: 'Message too big' };
      }
    });
    ws.on('close', (code, reasonBuffer) => {
      clearTimeout(idleTimer);
      clearTimeout(maxTimer);
      connection.state = 'closed';
      registry.remove(connectionId);
      // A lost network: API Gateway never learns of it, and the connection item stays behind.
      if (options.faults?.lost.wasLost(connection)) return;
      const cause = connection.closeCause ?? {
        code,
        reason: reasonBuffer.toString() || (code === 1005 ? 'Client-side close frame status not set' : ''),
      };
      track(disconnect(connection, cause.code, cause.reason));
    });
  }

  async function route(
    connection: Connection & { socket: WebSocket },
    routeKey: string,
    body: string,
  ): Promise<void> {
    const event = messageEvent(api, connection.upgrade, connection.authorizer, routeKey, body);
    const { requestId, connectionId } = event.requestContext;
    if (!handlers.routes.has(routeKey)) {
      // No route and no $default: API Gateway answers the frame itself.
      sendIfOpen(connection, JSON.stringify({ message: 'Forbidden', connectionId, requestId }));
      return;
    }
    const started = Date.now();
    const outcome = await invoke(routeKey, event);
    if (outcome.failed) {
      localLog.error(`${routeKey} ${connectionId} ${connection.label} threw: ${outcome.error}`);
      sendIfOpen(connection, JSON.stringify({ message: 'Internal server error', connectionId, requestId }));
      return;
    }
    localLog.info(
      `${routeKey} ${connectionId} ${connection.label} -> ${outcome.result?.statusCode ?? 200} (${Date.now() - started} ms)`,
    );
    const reply = outcome.result?.body;
    if (twoWay.has(routeKey) && typeof reply === 'string') sendIfOpen(connection, reply);
  }

  async function disconnect(connection: Connection, code: number, reason: string): Promise<void> {
    const { connectionId } = connection.upgrade;
    localLog.info(`disconnected ${connectionId} ${connection.label} (${code}${reason ? ` ${reason}` : ''})`);
    const outcome = await invoke(
      '$disconnect',
      disconnectEvent(api, connection.upgrade, connection.authorizer, code, reason),
    );
    if (outcome.failed) localLog.error(`$disconnect ${connectionId} threw: ${outcome.error}`);
  }

  async function invoke(
    routeKey: string,
    event: WebSocketEvent,
  ): Promise<{ failed: false; result: RouteResult | undefined } | { failed: true; error: string }> {
    const handler = handlers.routes.get(routeKey);
    if (handler === undefined) return { failed: false, result: undefined };
    try {
      return { failed: false, result: await handler(event, lambdaContext(routeKey, ROUTE_TIMEOUT_MS)) };
    } catch (error) {
      return {
        failed: true,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      };
    }
  }

  return {
    handleUpgrade(request, socket, head) {
      track(
        upgrade(request, socket, head).catch((error: unknown) => {
          localLog.error(`upgrade failed: ${String(error)}`);
          refuse(socket, 500, 'InternalServerErrorException', 'Internal server error');
        }),
      );
    },
    async shutdown() {
      stopping = true;
      for (const connection of registry.all()) {
        if (connection.state === 'open' && connection.socket) {
          closeConnection(
            connection as Connection & { socket: WebSocket },
            GOING_AWAY.code,
            GOING_AWAY.reason,
          );
        }
      }
      // Clients that never answer the close frame are cut after a moment.
      const cut = setTimeout(() => {
        for (const client of server.clients) client.terminate();
      }, 2_000);
      while (running.size > 0) await Promise.allSettled([...running]);
      clearTimeout(cut);
      server.close();
    },
  };
}

const REFUSALS = {
  401: { type: 'UnauthorizedException', message: 'Unauthorized' },
  403: { type: 'AccessDeniedException', message: 'Forbidden' },
  500: { type: 'AuthorizerConfigurationException', message: 'Internal server error' },
} as const;

function refuse(socket: Duplex, statusCode: number, errorType: string | undefined, message: string): void {
  if (socket.destroyed) return;
  const body = errorType === undefined ? message : JSON.stringify({ message });
  const head = [
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(errorType === undefined ? [] : [`x-amzn-ErrorType: ${errorType}`]),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

function sendIfOpen(connection: Connection & { socket: WebSocket }, text: string): void {
  if (connection.socket.readyState === WebSocket.OPEN) connection.socket.send(text);
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

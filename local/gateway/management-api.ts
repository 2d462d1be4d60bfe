/**
 * The `@connections` management API in the restJson1 wire format that
 * `@aws-sdk/client-apigatewaymanagementapi` speaks: the SDK reads the error type from the
 * `x-amzn-ErrorType` header, so a closed connection surfaces as a real `GoneException`.
 * Requests are not signature-checked: any credentials do locally.
 *
 * With fault injection (local/faults/), a `PostToConnection` may be answered, before anything is sent,
 * as API Gateway answers when it fails (500), throttles (429 `LimitExceededException`) or has lost the
 * connection (410): then the socket is also cut, as a 410 only ever means a gone connection, and the
 * gateway runs `$disconnect` as for `/drop`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultPlan } from '../faults/fault-plan.ts';
import { localLog } from '../log.ts';
import { type ConnectionRegistry, MAX_MESSAGE_BYTES } from './connections.ts';
import { dropConnection } from './drop-route.ts';

/** `/@connections/{id}`, optionally under a stage path, as the SDK builds it from its endpoint. */
const PATH = /^(?:\/[^/@]+)?\/@connections\/([^/]+)$/;

export function isManagementPath(pathname: string): boolean {
  return PATH.test(pathname);
}

export async function handleManagementRequest(
  registry: ConnectionRegistry,
  request: IncomingMessage,
  response: ServerResponse,
  pathname: string,
  faults?: FaultPlan,
): Promise<void> {
  const encoded = PATH.exec(pathname)?.[1] ?? '';
  const connectionId = decodeURIComponent(encoded);
  switch (request.method) {
    case 'POST': {
      const data = await readBody(request, MAX_MESSAGE_BYTES);
      if (data === 'too_large') return error(response, 413, 'PayloadTooLargeException', 'Message too long');
      const fault = faults?.next('post');
      if (fault !== undefined) return injectPostFault(registry, response, connectionId, fault);
      const result = registry.post(connectionId, data);
      if (result === 'gone') return gone(response);
      if (result === 'too_large') return error(response, 413, 'PayloadTooLargeException', 'Message too long');
      response.writeHead(200).end();
      return;
    }
    case 'GET': {
      await drain(request);
      const connection = registry.open(connectionId);
      if (connection === undefined) return gone(response);
      const { connectedAt, sourceIp, userAgent } = connection.upgrade;
      const body = JSON.stringify({
        connectedAt: new Date(connectedAt).toISOString(),
        identity: { sourceIp, userAgent },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      });
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      return;
    }
    case 'DELETE': {
      await drain(request);
      if (!registry.close(connectionId, 1000, 'Connection Closed Normally')) return gone(response);
      response.writeHead(204).end();
      return;
    }
    default:
      await drain(request);
      return error(response, 404, 'NotFoundException', 'Not Found');
  }
}

/** The error types API Gateway answers with; the SDK models 429 and 410, a 500 reaches it unmodeled. */
const POST_FAULTS = {
  500: { type: 'InternalServerErrorException', message: 'Internal server error' },
  429: { type: 'LimitExceededException', message: 'Rate exceeded' },
  410: { type: 'GoneException', message: 'Gone' },
} as const;

async function injectPostFault(
  registry: ConnectionRegistry,
  response: ServerResponse,
  connectionId: string,
  status: keyof typeof POST_FAULTS,
): Promise<void> {
  localLog.info(`fault: PostToConnection ${connectionId} -> ${status} (injected)`);
  const connection = status === 410 ? registry.open(connectionId) : undefined;
  if (connection !== undefined) await dropConnection(connection);
  error(response, status, POST_FAULTS[status].type, POST_FAULTS[status].message);
}

function gone(response: ServerResponse): void {
  error(response, 410, 'GoneException', 'Gone');
}

function error(response: ServerResponse, statusCode: number, type: string, message: string): void {
  response
    .writeHead(statusCode, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': type })
    .end(JSON.stringify({ message }));
}

/** The body, or 'too_large' as soon as it passes the limit (the rest is read and dropped). */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return size > limit ? 'too_large' : Buffer.concat(chunks);
}

async function drain(request: IncomingMessage): Promise<void> {
  for await (const _chunk of request) {
    // discard
  }
}

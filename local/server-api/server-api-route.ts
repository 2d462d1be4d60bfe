/**
 * The server API on the local stack's port (integration.md, "The server API"): what the deployed HTTP
 * API (lib/constructs/server-api.ts) does in front of the server API function. A request whose method
 * and path are no operation of SERVER_API_OPERATIONS is 404 (API Gateway matches routes before it
 * authorizes); a body over SERVER_API.maxBodyBytes is 400 `too_large`; a missing or wrong SigV4
 * signature is 403 (sigv4-verifier.ts, against the local credentials). Anything else reaches the
 * handler as an HTTP API payload format 2.0 event with an IAM authorizer, and its answer is written
 * back as API Gateway writes it.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { SERVER_API, type ServerApiError } from '../../definitions/server-api.ts';
import { type MatchedOperation, matchOperation } from '../../functions/server-api/router.ts';
import { lambdaContext } from '../lambda-context.ts';
import { localLog } from '../log.ts';
import { parseQuery, type ServerApiCredentials, SigV4Verifier } from './sigv4-verifier.ts';

/** The server API function's handler (functions/server-api/handler.ts). */
export type ServerApiHandler = (
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2 | string | object | undefined>;

/** The account and IAM user a locally signed request is from, as the event's authorizer names them. */
export const LOCAL_CALLER = {
  accountId: '000000000000',
  userArn: 'arn:aws:iam::000000000000:user/parley-local',
  userId: 'AIDAPARLEYLOCALUSER0',
} as const;

/** The time API Gateway's integration gives a Lambda function (an HTTP API's maximum). */
const INTEGRATION_TIMEOUT_MS = 30_000;

export interface ServerApiRouteOptions {
  readonly credentials: ServerApiCredentials;
  /**
   * The handler; the stack may set it later (`route.handler`), once the environment the handler reads
   * at import time is in place. Until then a request answers 503, as an unavailable integration does.
   */
  readonly handler?: ServerApiHandler;
  /** Milliseconds since the epoch (signature dates, event times). */
  readonly now?: () => number;
  /** What the route's log lines go to; the local log by default. */
  readonly log?: (line: string) => void;
}

/** A request as read from the socket. */
export interface ServerApiHttpRequest {
  readonly method: string;
  /** Path and query as sent (`request.url`). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body, or `too_large` when it went over SERVER_API.maxBodyBytes (then it was not kept). */
  readonly body: Buffer | 'too_large';
  readonly sourceIp: string;
  readonly protocol?: string;
}

export interface ServerApiHttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: string | Buffer;
}

/** `/v1` and `/v1/…`: the paths this route serves (those that are no operation are its 404s). */
export function isServerApiPath(pathname: string): boolean {
  return pathname === SERVER_API.basePath || pathname.startsWith(`${SERVER_API.basePath}/`);
}

export class ServerApiRoute {
  /** The server API function; undefined until loaded. */
  handler: ServerApiHandler | undefined;
  readonly #verifier: SigV4Verifier;
  readonly #now: () => number;
  readonly #log: (line: string) => void;

  constructor(options: ServerApiRouteOptions) {
    const now = options.now ?? Date.now;
    this.#verifier = new SigV4Verifier({ credentials: options.credentials, now });
    this.handler = options.handler;
    this.#now = now;
    this.#log = options.log ?? localLog.info;
  }

  /** Node's request and response: reads the body (up to the cap), answers, writes the answer back. */
  async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request, SERVER_API.maxBodyBytes);
    const answer = await this.answer({
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      headers: request.headers,
      body,
      sourceIp: (request.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/i, ''),
      protocol: `HTTP/${request.httpVersion}`,
    });
    response.writeHead(answer.statusCode, answer.headers).end(answer.body);
  }

  /** The answer to one request, as API Gateway and the server API function would give it. */
  async answer(request: ServerApiHttpRequest): Promise<ServerApiHttpResponse> {
    const started = this.#now();
    const requestId = apiGatewayRequestId();
    const query = request.url.indexOf('?');
    const rawPath = query === -1 ? request.url : request.url.slice(0, query);
    const rawQueryString = query === -1 ? '' : request.url.slice(query + 1);
    const method = request.method.toUpperCase();
    const finish = (reply: ServerApiHttpResponse, note = '') => {
      this.#log(
        `server API ${method} ${rawPath} ${reply.statusCode}${note} (${Math.round(this.#now() - started)} ms)`,
      );
      return { ...reply, headers: { ...reply.headers, 'apigw-requestid': requestId } };
    };

    const operation = matchOperation(method, rawPath);
    if (operation === undefined) return finish(jsonError(404, { code: 'not_found', message: 'Not Found' }));
    if (request.body === 'too_large') {
      return finish(
        jsonError(400, {
          code: 'too_large',
          message: `The request body is over ${SERVER_API.maxBodyBytes} bytes`,
        }),
      );
    }
    const verdict = await this.#verifier.verify({
      method,
      path: rawPath,
      rawQuery: rawQueryString,
      headers: request.headers,
      body: request.body,
    });
    if (!verdict.ok) {
      return finish(jsonError(verdict.statusCode, verdict.error), `: ${verdict.error.message}`);
    }

    const handler = this.handler;
    if (handler === undefined) {
      return finish(jsonError(503, { code: 'internal', message: 'The server API function is not loaded' }));
    }
    const event = this.#event(request, {
      requestId,
      method,
      rawPath,
      rawQueryString,
      operation,
      body: request.body,
      accessKeyId: verdict.accessKeyId,
      epochMs: started,
    });
    let result: Awaited<ReturnType<ServerApiHandler>>;
    try {
      result = await handler(event, lambdaContext(SERVER_API.handler, INTEGRATION_TIMEOUT_MS));
    } catch (error) {
      localLog.error(
        `server API ${operation.routeKey} threw: ${error instanceof Error ? error.stack : String(error)}`,
      );
      // What API Gateway answers when the function fails.
      return finish({
        statusCode: 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Internal Server Error' }),
      });
    }
    return finish(toHttpResponse(result));
  }

  #event(
    request: ServerApiHttpRequest,
    parts: {
      requestId: string;
      method: string;
      rawPath: string;
      rawQueryString: string;
      operation: MatchedOperation;
      body: Buffer;
      accessKeyId: string;
      epochMs: number;
    },
  ): APIGatewayProxyEventV2WithIAMAuthorizer {
    const headers: Record<string, string> = {};
    let cookies: string[] | undefined;
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined) continue;
      const joined = Array.isArray(value) ? value.join(',') : value;
      // Payload 2.0 moves cookies out of the headers.
      if (name === 'cookie') cookies = joined.split(/;\s*/).filter((cookie) => cookie !== '');
      else headers[name.toLowerCase()] = joined;
    }
    const host = headers.host ?? 'localhost';
    headers['x-forwarded-for'] = request.sourceIp;
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-port'] = /:(\d+)$/.exec(host)?.[1] ?? '80';

    const query = parseQuery(parts.rawQueryString);
    const queryStringParameters = Object.fromEntries(
      Object.entries(query).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]),
    );
    const iam = {
      accessKey: parts.accessKeyId,
      accountId: LOCAL_CALLER.accountId,
      callerId: LOCAL_CALLER.userId,
      cognitoIdentity: null,
      // AWS sends null when the caller is in no organization (the type says string).
      principalOrgId: null as unknown as string,
      userArn: LOCAL_CALLER.userArn,
      userId: LOCAL_CALLER.userId,
    };
    const event: APIGatewayProxyEventV2WithIAMAuthorizer = {
      version: '2.0',
      routeKey: parts.operation.routeKey,
      rawPath: parts.operation.decodedPath,
      rawQueryString: parts.rawQueryString,
      headers,
      requestContext: {
        accountId: LOCAL_CALLER.accountId,
        apiId: 'local',
        authorizer: { iam },
        domainName: host,
        domainPrefix: host.split('.')[0]?.replace(/:\d+$/, '') ?? host,
        http: {
          method: parts.method,
          path: parts.operation.decodedPath,
          protocol: request.protocol ?? 'HTTP/1.1',
          sourceIp: request.sourceIp,
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: parts.requestId,
        routeKey: parts.operation.routeKey,
        stage: '$default',
        time: clfTime(parts.epochMs),
        timeEpoch: parts.epochMs,
      },
      isBase64Encoded: false,
    };
    if (cookies !== undefined) event.cookies = cookies;
    if (Object.keys(queryStringParameters).length > 0) event.queryStringParameters = queryStringParameters;
    if (Object.keys(parts.operation.pathParameters).length > 0) {
      event.pathParameters = parts.operation.pathParameters;
    }
    if (parts.body.length > 0) event.body = parts.body.toString('utf8');
    return event;
  }
}

/**
 * The handler's result as API Gateway writes it (payload format 2.0): a result with a `statusCode` is
 * taken as the response; anything else is a 200 JSON body of the result itself.
 */
export function toHttpResponse(result: Awaited<ReturnType<ServerApiHandler>>): ServerApiHttpResponse {
  if (typeof result !== 'object' || result === null || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : (JSON.stringify(result) ?? '');
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body };
  }
  const structured = result as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  headers['content-type'] ??= 'application/json';
  if (structured.cookies !== undefined && structured.cookies.length > 0)
    headers['set-cookie'] = structured.cookies;
  const text = structured.body ?? '';
  return {
    statusCode: structured.statusCode ?? 200,
    headers,
    body: structured.isBase64Encoded === true ? Buffer.from(text, 'base64') : text,
  };
}

function jsonError(statusCode: number, error: ServerApiError): ServerApiHttpResponse {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(error) };
}

/**
 * The body, or `too_large` once it goes over `maxBytes`: the rest is read and dropped (so the client,
 * still sending, gets the answer rather than a reset), never kept.
 */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size <= maxBytes) chunks.push(chunk as Buffer);
    else chunks.length = 0;
  }
  return size > maxBytes ? 'too_large' : Buffer.concat(chunks);
}

/** API Gateway's request ids look like `JKJaXmPLvHcESHA=`. */
function apiGatewayRequestId(): string {
  return randomBytes(10).toString('base64');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.time`: `12/Mar/2020:19:03:58 +0000`. */
function clfTime(epochMs: number): string {
  const date = new Date(epochMs);
  const two = (value: number) => String(value).padStart(2, '0');
  return (
    `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

/**
 * The server API's one Lambda function (integration.md): API Gateway (an HTTP API whose every route
 * needs an IAM SigV4 signature) or the local stack (which checks the same signature) hands it each
 * request. It finds the operation, reads the JSON body, honours the `Idempotency-Key` of a write
 * (functions/adapters/idempotency-store.ts), runs the operation (operations.ts) and answers JSON: the
 * operation's answer, or `{ code, message }` with the contract's status.
 */
import { createHash, randomUUID } from 'node:crypto';
import type {
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import {
  SERVER_API,
  SERVER_API_ERRORS,
  type ServerApiErrorCode,
  type ServerApiOperation,
} from '../../definitions/server-api.ts';
import { claim, complete, release, type StoredAnswer } from '../adapters/idempotency-store.ts';
import { ParleyError, RateLimitedError } from '../domain/errors.ts';
import { logger, withLogKeys } from '../shared/logger.ts';
import { type ApiRequest, IDEMPOTENCY_HEADER, OPERATIONS } from './operations.ts';
import { matchOperation, operationOfRouteKey } from './router.ts';

type Result = APIGatewayProxyStructuredResultV2;

const jsonAnswer = (statusCode: number, body: unknown, headers: Record<string, string> = {}): Result => ({
  statusCode,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const refusal = (code: ServerApiErrorCode, message: string, extra: Record<string, unknown> = {}): Result =>
  jsonAnswer(SERVER_API_ERRORS[code], { code, message, ...extra });

export async function handler(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  context: Context,
): Promise<Result> {
  const { method } = event.requestContext.http;
  const requestId = event.requestContext.requestId ?? context.awsRequestId;
  const matched = operationOf(event);
  return withLogKeys({ requestId, route: matched?.operation.name ?? `${method} (no route)` }, async () => {
    const operation = matched === undefined ? undefined : OPERATIONS[matched.operation.name];
    if (matched === undefined || operation === undefined) return refusal('not_found', 'Not Found');
    const text =
      event.body === undefined
        ? ''
        : event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').toString('utf8')
          : event.body;
    if (Buffer.byteLength(text) > SERVER_API.maxBodyBytes) {
      return refusal('too_large', `the body is over ${SERVER_API.maxBodyBytes} bytes`);
    }
    let body: unknown;
    try {
      body = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      return refusal('bad_request', 'the body is not JSON');
    }
    const key = event.headers[IDEMPOTENCY_HEADER];
    if (key !== undefined && !SERVER_API.idempotencyKeyPattern.test(key)) {
      return refusal('bad_request', `${SERVER_API.idempotencyHeader}: 1 to 128 printable characters`);
    }
    const now = new Date();
    const request: ApiRequest = {
      params: matched.params,
      query: event.queryStringParameters ?? {},
      body,
      now,
      requestKey: key ?? requestId ?? randomUUID(),
      by: event.requestContext.authorizer?.iam?.userArn ?? 'backend',
    };
    if (!matched.operation.write || key === undefined) return answer(await run(() => operation(request)));

    // The same key answers what its first request answered: the same method, path and body.
    const fingerprint = createHash('sha256')
      .update(`${method} ${event.rawPath}\n${text}`)
      .digest('base64url');
    const claimed = await claim(key, fingerprint, now, SERVER_API.idempotencyTtlSeconds);
    if (claimed.kind === 'answered') return answer(claimed.answer, true);
    if (claimed.kind === 'mismatch') {
      return refusal('conflict', `this ${SERVER_API.idempotencyHeader} was used for another request`);
    }
    if (claimed.kind === 'in_progress') {
      return refusal('rate_limited', `a request with this ${SERVER_API.idempotencyHeader} is still running`, {
        retryAfterMs: 1000,
      });
    }
    const outcome = await run(() => operation(request));
    // A failure, or a refusal that may pass later, is not kept: its retry runs again.
    if (outcome.statusCode >= 500 || outcome.statusCode === 429) await release(key);
    else await complete(key, outcome);
    return answer(outcome);
  });
}

/**
 * The operation and its path parameters: from the route key and the parameters API Gateway decoded
 * (each operation is its own route), or, for a request that came by another route, from its path.
 */
function operationOf(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
): { operation: ServerApiOperation; params: Record<string, string> } | undefined {
  const operation = operationOfRouteKey(event.routeKey);
  if (operation !== undefined) {
    const params = Object.fromEntries(
      Object.entries(event.pathParameters ?? {}).filter(
        (entry): entry is [string, string] => entry[1] !== undefined,
      ),
    );
    return { operation, params };
  }
  const matched = matchOperation(event.requestContext.http.method, event.rawPath);
  return matched === undefined ? undefined : { operation: matched.operation, params: matched.pathParameters };
}

/** Runs the operation: its answer, or its error as the contract's `{ code, message }`. */
async function run(operation: () => Promise<{ statusCode: number; body: unknown }>): Promise<StoredAnswer> {
  try {
    const { statusCode, body } = await operation();
    return { statusCode, body: JSON.stringify(body) };
  } catch (error) {
    if (!(error instanceof ParleyError) || !(error.code in SERVER_API_ERRORS) || error.code === 'internal') {
      logger.error('request failed', { error });
      return {
        statusCode: 500,
        body: JSON.stringify({ code: 'internal', message: 'the server failed; retry' }),
      };
    }
    logger.info('request refused', { code: error.code, reason: error.logReason });
    const code = error.code as ServerApiErrorCode;
    const extra = error instanceof RateLimitedError ? { retryAfterMs: error.retryAfterMs } : {};
    return {
      statusCode: SERVER_API_ERRORS[code],
      body: JSON.stringify({ code, message: error.message, ...extra }),
    };
  }
}

function answer(stored: StoredAnswer, replayed = false): Result {
  logger.info('request answered', { status: stored.statusCode, ...(replayed && { replayed }) });
  const retryAfterMs =
    stored.statusCode === 429
      ? (JSON.parse(stored.body) as { retryAfterMs?: number }).retryAfterMs
      : undefined;
  return {
    statusCode: stored.statusCode,
    headers: {
      'Content-Type': 'application/json',
      ...(retryAfterMs !== undefined && {
        'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
      }),
    },
    body: stored.body,
  };
}

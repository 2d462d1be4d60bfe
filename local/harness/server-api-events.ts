/**
 * The event API Gateway's HTTP API gives the server API's function for a request IAM let through
 * (payload format 2.0), for tests and the benchmark that call the handler directly. The local stack
 * builds the same from real HTTP requests (local/server-api/server-api-route.ts).
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { SERVER_API } from '../../definitions/server-api.ts';
import { matchOperation } from '../../functions/server-api/router.ts';

export function serverApiEvent(
  method: string,
  path: string,
  options: { body?: unknown; key?: string; query?: Record<string, string> } = {},
): APIGatewayProxyEventV2WithIAMAuthorizer {
  const matched = matchOperation(method, path);
  const routeKey = matched?.routeKey ?? '$default';
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: {
      'content-type': 'application/json',
      ...(options.key !== undefined && { [SERVER_API.idempotencyHeader.toLowerCase()]: options.key }),
    },
    ...(options.query !== undefined && { queryStringParameters: options.query }),
    ...(matched !== undefined && { pathParameters: matched.pathParameters }),
    ...(options.body !== undefined && {
      body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'parley-test' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
      authorizer: {
        iam: {
          accessKey: 'AKIAEXAMPLE',
          accountId: '123456789012',
          callerId: 'AIDAEXAMPLE',
          cognitoIdentity: null as never,
          principalOrgId: null as never,
          userArn: 'arn:aws:iam::123456789012:role/matchmaker',
          userId: 'AIDAEXAMPLE',
        },
      },
    },
  };
}

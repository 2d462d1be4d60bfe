/**
 * The local server API endpoint (local/server-api/server-api-route.ts) on a loopback port, with a
 * stand-in handler: signed requests reach it as API Gateway's HTTP API would give them (payload format
 * 2.0, IAM authorizer), and its answer is written back; an unknown operation is 404, an oversized body
 * 400 `too_large`, an unsigned request 403, none of them calling the handler.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type {
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_SERVER_CREDENTIALS, SERVER_API } from '../../../definitions/server-api.ts';
import { matchOperation } from '../../../functions/server-api/router.ts';
import { setLocalLogSink } from '../../../local/log.ts';
import { isServerApiPath, ServerApiRoute } from '../../../local/server-api/server-api-route.ts';

const CREDENTIALS = {
  accessKeyId: LOCAL_SERVER_CREDENTIALS.accessKeyId,
  secretAccessKey: LOCAL_SERVER_CREDENTIALS.secretAccessKey,
};

let events: { event: APIGatewayProxyEventV2WithIAMAuthorizer; context: Context }[] = [];
let answer: (event: APIGatewayProxyEventV2WithIAMAuthorizer) => Promise<APIGatewayProxyStructuredResultV2> =
  async () => ({ statusCode: 200, body: '{}' });

const route = new ServerApiRoute({
  credentials: CREDENTIALS,
  handler: async (event, context) => {
    events.push({ event, context });
    return answer(event);
  },
  log: () => {},
});
let server: Server;
let base: string;
let host: string;

beforeAll(async () => {
  setLocalLogSink(() => {});
  server = createServer((request, response) => void route.serve(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  base = `http://${host}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  events = [];
  answer = async () => ({ statusCode: 200, body: '{}' });
});

/** `fetch` with a SigV4 signature made as a backend makes it (path as sent, query decoded). */
async function signedFetch(
  method: string,
  path: string,
  options: { query?: Record<string, string>; body?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const signer = new SignatureV4({
    credentials: CREDENTIALS,
    region: SERVER_API.localRegion,
    service: SERVER_API.signingService,
    sha256: Sha256,
  });
  const request = await signer.sign({
    method,
    protocol: 'http:',
    hostname: '127.0.0.1',
    path,
    query: options.query ?? {},
    headers: {
      host,
      ...(options.body !== undefined && { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body,
  });
  const query = new URLSearchParams(options.query ?? {}).toString().replaceAll('+', '%20');
  const { host: _, ...headers } = request.headers;
  return fetch(`${base}${path}${query ? `?${query}` : ''}`, {
    method,
    headers,
    ...(options.body !== undefined && { body: options.body }),
  });
}

describe('server API route: the event the handler gets', () => {
  it('a sendMessage: routeKey, decoded path parameters, body as text, IAM authorizer', async () => {
    const body = JSON.stringify({ senderId: 'system', clientMessageId: 'welcome-1', content: 'Hi!' });

    const response = await signedFetch('POST', '/v1/conversations/g%3Aclub%201/messages', {
      body,
      headers: { 'idempotency-key': 'k-1' },
    });

    expect(response.status).toBe(200);
    expect(events).toHaveLength(1);
    const [{ event, context }] = events as [(typeof events)[number]];
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/conversations/{id}/messages',
      rawPath: '/v1/conversations/g:club 1/messages',
      rawQueryString: '',
      pathParameters: { id: 'g:club 1' },
      body,
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        routeKey: 'POST /v1/conversations/{id}/messages',
        stage: '$default',
        domainName: host,
        timeEpoch: expect.any(Number),
        time: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
        requestId: expect.any(String),
        http: {
          method: 'POST',
          path: '/v1/conversations/g:club 1/messages',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: expect.any(String),
        },
        authorizer: {
          iam: {
            accessKey: 'PARLEYLOCALKEY',
            accountId: '000000000000',
            userArn: 'arn:aws:iam::000000000000:user/parley-local',
            userId: expect.any(String),
            callerId: expect.any(String),
            principalOrgId: null,
            cognitoIdentity: null,
          },
        },
      },
    });
    expect(event.queryStringParameters).toBeUndefined();
    // Lowercased headers, the idempotency key among them, as API Gateway passes them on.
    expect(event.headers).toMatchObject({
      'idempotency-key': 'k-1',
      'content-type': 'application/json',
      host,
      'x-forwarded-for': '127.0.0.1',
    });
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(context.functionName).toBe('parley-local-server-api');
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
  });

  it('a history read: GET route key, path parameter and decoded query parameters', async () => {
    await signedFetch('GET', '/v1/conversations/c1/messages', {
      query: { afterSeq: '3', afterVersion: '7', limit: '50' },
    });

    const [{ event }] = events as [(typeof events)[number]];
    expect(event.routeKey).toBe('GET /v1/conversations/{id}/messages');
    expect(event.pathParameters).toEqual({ id: 'c1' });
    expect(event.rawQueryString).toBe('afterSeq=3&afterVersion=7&limit=50');
    expect(event.queryStringParameters).toEqual({ afterSeq: '3', afterVersion: '7', limit: '50' });
    expect(event.body).toBeUndefined();
  });

  it('two path parameters, and an operation without any', async () => {
    await signedFetch('DELETE', '/v1/users/ann/blocks/bob');
    await signedFetch('GET', '/v1/reports', { query: { status: 'open' } });

    expect(events.map(({ event }) => [event.routeKey, event.pathParameters])).toEqual([
      ['DELETE /v1/users/{id}/blocks/{otherId}', { id: 'ann', otherId: 'bob' }],
      ['GET /v1/reports', undefined],
    ]);
  });
});

describe('server API route: what is written back', () => {
  it("the handler's status, headers and body", async () => {
    answer = async (event) => ({
      statusCode: 201,
      headers: { 'Content-Type': 'application/json', 'X-Parley-Test': 'yes' },
      body: JSON.stringify({ conversationId: event.pathParameters?.id, seq: 4, duplicate: false }),
    });

    const response = await signedFetch('POST', '/v1/conversations/c9/messages', { body: '{}' });

    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-parley-test')).toBe('yes');
    expect(response.headers.get('apigw-requestid')).toBe(events[0]?.event.requestContext.requestId);
    expect(await response.json()).toEqual({ conversationId: 'c9', seq: 4, duplicate: false });
  });

  it('an error answer as the handler gives it', async () => {
    answer = async () => ({
      statusCode: 409,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'conflict', message: 'Idempotency-Key reused with another request' }),
    });

    const response = await signedFetch('POST', '/v1/conversations', { body: '{"members":["a","b"]}' });

    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({
      code: 'conflict',
      message: 'Idempotency-Key reused with another request',
    });
  });

  it("500 with API Gateway's body when the handler throws", async () => {
    answer = async () => {
      throw new Error('boom');
    };

    const response = await signedFetch('GET', '/v1/reports');

    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });
});

describe('server API route: refused before the handler', () => {
  it('404 not_found for a path that is no operation, or a method the path does not take', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nothing'],
      ['GET', '/v1'],
      ['GET', '/v1/conversations/c1/messages/extra/segments'],
      ['PATCH', '/v1/reports'],
      ['GET', '/v1/users//export'],
      ['GET', '/v1/users/a%2Fb/export'],
    ] as const) {
      const response = await signedFetch(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await response.json()).toEqual({ code: 'not_found', message: 'Not Found' });
    }
    expect(events).toEqual([]);
  });

  it('400 too_large for a body over SERVER_API.maxBodyBytes; one of exactly that size passes', async () => {
    // `{"content":""}` is 14 bytes: one byte over the cap.
    const over = JSON.stringify({ content: 'x'.repeat(SERVER_API.maxBodyBytes - 13) });
    expect(Buffer.byteLength(over)).toBe(SERVER_API.maxBodyBytes + 1);

    const response = await signedFetch('POST', '/v1/conversations/c1/messages', { body: over });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ code: 'too_large', message: expect.any(String) });
    expect(events).toEqual([]);

    const exact = JSON.stringify({ content: 'x'.repeat(SERVER_API.maxBodyBytes - 14) });
    expect(Buffer.byteLength(exact)).toBe(SERVER_API.maxBodyBytes);
    expect((await signedFetch('POST', '/v1/conversations/c1/messages', { body: exact })).status).toBe(200);
    expect(events).toHaveLength(1);
  });

  it('403 forbidden without a signature, or with one replayed onto another path', async () => {
    const unsigned = await fetch(`${base}/v1/reports?status=open`);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toEqual({ code: 'forbidden', message: 'Missing Authentication Token' });

    const signer = new SignatureV4({
      credentials: CREDENTIALS,
      region: 'local',
      service: 'execute-api',
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: '/v1/users/ann/revoke',
      query: {},
      headers: { host },
    });
    const { host: _, ...headers } = signed.headers;
    const replayed = await fetch(`${base}/v1/users/bob/revoke`, { method: 'POST', headers });
    expect(replayed.status).toBe(403);
    expect((await replayed.json()) as unknown).toMatchObject({ code: 'forbidden' });
    expect(events).toEqual([]);
  });

  it('503 while the handler is not loaded', async () => {
    const unloaded = new ServerApiRoute({ credentials: CREDENTIALS, log: () => {} });
    const signer = new SignatureV4({
      credentials: CREDENTIALS,
      region: 'local',
      service: 'execute-api',
      sha256: Sha256,
    });
    const request = await signer.sign({
      method: 'GET',
      protocol: 'http:',
      hostname: 'localhost',
      path: '/v1/reports',
      query: {},
      headers: { host: 'localhost:3001' },
    });

    const reply = await unloaded.answer({
      method: 'GET',
      url: '/v1/reports',
      headers: request.headers,
      body: Buffer.alloc(0),
      sourceIp: '127.0.0.1',
    });

    expect(reply.statusCode).toBe(503);
  });
});

describe('isServerApiPath', () => {
  it('is /v1 and everything under it, nothing else', () => {
    expect(['/v1', '/v1/', '/v1/reports'].every(isServerApiPath)).toBe(true);
    expect(['/', '/v10/reports', '/_local/v1/x', '/demo/v1'].some(isServerApiPath)).toBe(false);
  });
});

describe('matchOperation', () => {
  it('matches every operation of the contract by method and path', () => {
    expect(matchOperation('POST', '/v1/conversations')?.routeKey).toBe('POST /v1/conversations');
    expect(matchOperation('DELETE', '/v1/conversations/c1/members/u%40x')).toMatchObject({
      routeKey: 'DELETE /v1/conversations/{id}/members/{userId}',
      pathParameters: { id: 'c1', userId: 'u@x' },
      decodedPath: '/v1/conversations/c1/members/u@x',
    });
    expect(matchOperation('POST', '/v1/reports/r1/resolve')?.pathParameters).toEqual({ id: 'r1' });
    expect(matchOperation('GET', '/v1/users/ann/export')?.routeKey).toBe('GET /v1/users/{id}/export');
  });

  it('matches nothing for a trailing slash, dot segments or a malformed escape', () => {
    expect(matchOperation('GET', '/v1/reports/')).toBeUndefined();
    expect(matchOperation('GET', '/v1/users/../export')).toBeUndefined();
    expect(matchOperation('GET', '/v1/users/%E0%A4%A/export')).toBeUndefined();
  });
});

/**
 * Helpers of the @parley/server tests: what a stubbed fetch captured, and a check of its signature done
 * the way the receiving side does it: the request rebuilt as it went out (method, path and query as
 * sent, the headers it signed, its body) and signed again with AWS's SignatureV4 at its own X-Amz-Date.
 */
import { createHash } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { expect, type Mock } from 'vitest';

export const LOCAL_KEYS = {
  accessKeyId: 'PARLEYLOCALKEY',
  secretAccessKey: 'parley-local-secret-access-key',
};

/** A request as it left the client (or reached a server). */
export interface SentRequest {
  readonly method: string;
  /** The whole URL as sent: path and query percent-encoded. */
  readonly url: URL;
  /** Lowercased names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body's text, or undefined when none was sent. */
  readonly body: string | undefined;
}

/** The `index`th call of a stubbed fetch (the last by default). */
export function sent(fetchMock: Mock<typeof fetch>, index = -1): SentRequest {
  const call = fetchMock.mock.calls.at(index);
  if (!call) throw new Error(`fetch was called ${fetchMock.mock.calls.length} times`);
  const [input, init = {}] = call;
  expect(typeof input, 'fetch is given the URL as a string').toBe('string');
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  expect(init.body === undefined || typeof init.body === 'string', 'a JSON text body').toBe(true);
  return {
    method: init.method ?? 'GET',
    url: new URL(String(input)),
    headers,
    body: init.body === undefined || init.body === null ? undefined : String(init.body),
  };
}

export interface Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=…/…/…/…/aws4_request, SignedHeaders=…, Signature=…`, taken apart. */
export function parseAuthorization(header: string | undefined): Authorization {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      header ?? '',
    );
  if (!match) throw new Error(`not a SigV4 authorization header: ${header}`);
  const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] =
    match;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** `20261123T103000Z` → the Date. */
export function amzDate(value: string | undefined): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!match) throw new Error(`not an X-Amz-Date: ${value}`);
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/**
 * The signature the request should carry, computed afresh by SignatureV4 from the request as sent, with
 * `credentials`, at its X-Amz-Date; the Host header (which fetch adds) is the URL's host.
 */
export async function expectedSignature(
  request: SentRequest,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  region: string,
): Promise<string> {
  const { signedHeaders } = parseAuthorization(request.headers.authorization);
  const all: Record<string, string> = { ...request.headers, host: request.url.host };
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = all[name];
    if (value !== undefined) headers[name] = value;
  }
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials,
    sha256: Sha256,
    applyChecksum: signedHeaders.includes('x-amz-content-sha256'),
  });
  const query = awsQuery(request.url);
  const resigned = await signer.sign(
    {
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      path: request.url.pathname,
      query,
      headers,
      body: request.body,
    },
    { signingDate: amzDate(request.headers['x-amz-date']), signableHeaders: new Set(signedHeaders) },
  );
  return parseAuthorization(String(resigned.headers.authorization)).signature;
}

/**
 * The query as AWS reads it for SigV4: split on `&` and `=`, percent-decoded, and a `+` is a `+` (not a
 * space, as URLSearchParams would have it). Repeated names are not expected.
 */
export function awsQuery(url: URL): Record<string, string> {
  const query: Record<string, string> = {};
  for (const pair of url.search.slice(1).split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = decodeURIComponent(at === -1 ? pair : pair.slice(0, at));
    if (Object.hasOwn(query, name)) throw new Error(`repeated query parameter ${name}`);
    query[name] = at === -1 ? '' : decodeURIComponent(pair.slice(at + 1));
  }
  return query;
}

/** Asserts the request's SigV4 headers, and that its signature is the one SignatureV4 computes for it. */
export async function expectSignedBy(
  request: SentRequest,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  region: string,
): Promise<Authorization> {
  const date = request.headers['x-amz-date'];
  expect(date).toMatch(/^\d{8}T\d{6}Z$/);
  const authorization = parseAuthorization(request.headers.authorization);
  expect(request.headers.authorization).toContain(
    `Credential=${credentials.accessKeyId}/${date?.slice(0, 8)}/${region}/execute-api/aws4_request`,
  );
  expect(authorization.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date']));
  if (authorization.signedHeaders.includes('x-amz-content-sha256')) {
    // The signed payload hash is the body's own.
    expect(request.headers['x-amz-content-sha256']).toBe(
      createHash('sha256')
        .update(request.body ?? '')
        .digest('hex'),
    );
  }
  expect(authorization.signature).toBe(await expectedSignature(request, credentials, region));
  return authorization;
}

/** A JSON answer, as the server API writes them. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * The server API on `npm start`'s port (integration.md, "The server API"), as a backend calls it: a
 * request signed with AWS's own SigV4 signer and the local credentials reaches the real handler; an
 * unsigned one, or one signed with another secret, is 403 before it; the banner says what to sign with.
 */
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SERVER_CREDENTIALS, SERVER_API } from '../../definitions/server-api.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';

let stack: LocalStackProcess;

beforeAll(async () => {
  stack = await startLocalStackProcess();
});

afterAll(async () => {
  await stack?.stop();
});

/** `GET {httpUrl}{path}?{query}` signed for service execute-api, region local. */
async function signedGet(
  path: string,
  query: Record<string, string>,
  secretAccessKey: string = LOCAL_SERVER_CREDENTIALS.secretAccessKey,
): Promise<Response> {
  const url = new URL(`${stack.httpUrl}${path}`);
  const signer = new SignatureV4({
    credentials: { accessKeyId: LOCAL_SERVER_CREDENTIALS.accessKeyId, secretAccessKey },
    region: SERVER_API.localRegion,
    service: SERVER_API.signingService,
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'GET',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query,
    headers: { host: url.host },
  });
  // fetch sends its own Host, the same `127.0.0.1:{port}` that was signed.
  const { host: _, ...headers } = signed.headers;
  return fetch(`${url}?${new URLSearchParams(query)}`, { headers });
}

describe('the server API in the local stack', () => {
  it('prints where it answers and the credentials in the banner', () => {
    expect(stack.output()).toMatch(
      /Server API {5}http:\/\/localhost:\d+\/v1\/ \(SigV4: key PARLEYLOCALKEY, secret parley-local-secret-access-key, region local\)/,
    );
  });

  it('answers GET /v1/reports signed with the local credentials: 200 and the report queue', async () => {
    const response = await signedGet('/v1/reports', { status: 'open' });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toMatchObject({ reports: expect.any(Array) });
  });

  it('refuses GET /v1/reports unsigned, or signed with another secret: 403 forbidden', async () => {
    const unsigned = await fetch(`${stack.httpUrl}/v1/reports?status=open`);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toEqual({ code: 'forbidden', message: 'Missing Authentication Token' });

    const wrong = await signedGet('/v1/reports', { status: 'open' }, 'not-the-local-secret');
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ code: 'forbidden' });
  });

  it('answers 404 not_found for a path that is no operation', async () => {
    const response = await signedGet('/v1/nothing-here', {});

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ code: 'not_found', message: 'Not Found' });
  });
});

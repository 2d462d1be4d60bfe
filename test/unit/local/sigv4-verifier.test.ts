/**
 * The local server API's SigV4 check (local/server-api/sigv4-verifier.ts): requests signed here with
 * AWS's own signer, as a backend signs them, pass; every way a signature can be wrong, absent, stale,
 * scoped elsewhere or replayed onto another request is 403 `forbidden`.
 */
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { LOCAL_SERVER_CREDENTIALS } from '../../../definitions/server-api.ts';
import {
  parseQuery,
  type ReceivedRequest,
  resolveLocalServerCredentials,
  SigV4Verifier,
} from '../../../local/server-api/sigv4-verifier.ts';

const NOW = Date.UTC(2030, 0, 15, 12, 0, 0);
const CREDENTIALS = {
  accessKeyId: LOCAL_SERVER_CREDENTIALS.accessKeyId,
  secretAccessKey: LOCAL_SERVER_CREDENTIALS.secretAccessKey,
};
const HOST = '127.0.0.1:3001';

const verifier = new SigV4Verifier({ credentials: CREDENTIALS, now: () => NOW });

interface SignOptions {
  method?: string;
  /** As sent on the wire: segments already percent-encoded. */
  path?: string;
  query?: Record<string, string>;
  body?: string;
  headers?: Record<string, string>;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region?: string;
  service?: string;
  signingDate?: Date;
  applyChecksum?: boolean;
  unsignableHeaders?: Set<string>;
}

/** A request signed as a backend would sign it (SignatureV4), as the local stack receives it. */
async function signed(options: SignOptions = {}): Promise<ReceivedRequest> {
  const signer = new SignatureV4({
    credentials: options.credentials ?? CREDENTIALS,
    region: options.region ?? 'local',
    service: options.service ?? 'execute-api',
    sha256: Sha256,
    ...(options.applyChecksum !== undefined && { applyChecksum: options.applyChecksum }),
  });
  const body = options.body;
  const request = await signer.sign(
    {
      method: options.method ?? 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 3001,
      path: options.path ?? '/v1/conversations/c1/messages',
      query: options.query ?? {},
      headers: {
        host: HOST,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body,
    },
    {
      signingDate: options.signingDate ?? new Date(NOW),
      ...(options.unsignableHeaders && { unsignableHeaders: options.unsignableHeaders }),
    },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  return {
    method: request.method,
    path: request.path,
    rawQuery: wireQuery(options.query ?? {}),
    headers,
    body: Buffer.from(body ?? ''),
  };
}

function wireQuery(query: Record<string, string>): string {
  return Object.entries(query)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
}

const MESSAGE = JSON.stringify({ senderId: 'system', clientMessageId: 'm-1', content: 'Welcome!' });

async function expectRefused(request: ReceivedRequest, message: RegExp): Promise<void> {
  const verdict = await verifier.verify(request);
  expect(verdict).toEqual({
    ok: false,
    statusCode: 403,
    error: { code: 'forbidden', message: expect.any(String) },
  });
  if (!verdict.ok) expect(verdict.error.message).toMatch(message);
}

const MISMATCH = /^The request signature we calculated does not match the signature you provided/;

describe('SigV4Verifier: accepted', () => {
  it('accepts a POST signed with the local credentials, region local, service execute-api', async () => {
    const verdict = await verifier.verify(await signed({ body: MESSAGE }));

    expect(verdict).toEqual({ ok: true, accessKeyId: 'PARLEYLOCALKEY', signedAt: new Date(NOW) });
  });

  it('accepts a GET with a query and no body', async () => {
    const request = await signed({
      method: 'GET',
      query: { afterSeq: '3', limit: '50', status: 'open now' },
    });

    expect(request.rawQuery).toBe('afterSeq=3&limit=50&status=open%20now');
    expect((await verifier.verify(request)).ok).toBe(true);
  });

  it('accepts percent-encoded path segments (a user id with @ and a space), as the signer escapes them', async () => {
    const request = await signed({ method: 'PUT', path: '/v1/users/ann%40example.com/blocks/bo%20b' });

    expect((await verifier.verify(request)).ok).toBe(true);
  });

  it('accepts a signature without x-amz-content-sha256 (a signer that hashes the body only in the signature)', async () => {
    const request = await signed({ body: MESSAGE, applyChecksum: false });

    expect(request.headers['x-amz-content-sha256']).toBeUndefined();
    expect((await verifier.verify(request)).ok).toBe(true);
  });

  it('ignores headers added after signing that were not signed (user-agent, proxies)', async () => {
    const request = await signed({ body: MESSAGE });

    const verdict = await verifier.verify({
      ...request,
      headers: { ...request.headers, 'user-agent': 'node', 'x-forwarded-for': '10.0.0.1', accept: '*/*' },
    });

    expect(verdict.ok).toBe(true);
  });

  it('accepts a request signed 4 min 59 s ago or ahead (AWS allows 5 minutes either way)', async () => {
    for (const offset of [-299_000, 299_000]) {
      const request = await signed({ body: MESSAGE, signingDate: new Date(NOW + offset) });
      expect((await verifier.verify(request)).ok).toBe(true);
    }
  });

  it('accepts the credentials it is given (the environment overrides)', async () => {
    const other = { accessKeyId: 'MYKEY', secretAccessKey: 'my-own-secret' };
    const custom = new SigV4Verifier({ credentials: other, now: () => NOW });

    expect((await custom.verify(await signed({ body: MESSAGE, credentials: other }))).ok).toBe(true);
    expect((await custom.verify(await signed({ body: MESSAGE }))).ok).toBe(false);
  });
});

describe('SigV4Verifier: 403 forbidden', () => {
  it('refuses a wrong secret', async () => {
    const request = await signed({
      body: MESSAGE,
      credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: 'not-the-secret' },
    });

    await expectRefused(request, MISMATCH);
  });

  it('refuses an unknown access key id', async () => {
    const request = await signed({
      body: MESSAGE,
      credentials: { accessKeyId: 'AKIAOTHERKEY', secretAccessKey: CREDENTIALS.secretAccessKey },
    });

    await expectRefused(request, /^The security token included in the request is invalid\.$/);
  });

  it('refuses a signature scoped to another region', async () => {
    await expectRefused(await signed({ body: MESSAGE, region: 'us-east-1' }), /valid region.*'us-east-1'/);
  });

  it('refuses a signature scoped to another service', async () => {
    await expectRefused(
      await signed({ body: MESSAGE, service: 'lambda' }),
      /^Credential should be scoped to correct service: 'execute-api'/,
    );
  });

  it('refuses a request signed 6 minutes ago', async () => {
    await expectRefused(
      await signed({ body: MESSAGE, signingDate: new Date(NOW - 6 * 60_000) }),
      /^Signature expired: 20300115T115400Z is now earlier than 20300115T115500Z \(20300115T120000Z - 5 min\.\)$/,
    );
  });

  it('refuses a request signed 6 minutes ahead', async () => {
    await expectRefused(
      await signed({ body: MESSAGE, signingDate: new Date(NOW + 6 * 60_000) }),
      /^Signature not yet current: 20300115T120600Z is still later than 20300115T120500Z/,
    );
  });

  it('refuses a request replayed to another path', async () => {
    const request = await signed({ body: MESSAGE });

    await expectRefused({ ...request, path: '/v1/conversations/c2/messages' }, MISMATCH);
  });

  it('refuses a request replayed with another method', async () => {
    const request = await signed({ method: 'DELETE', path: '/v1/users/ann/blocks/bob' });

    await expectRefused({ ...request, method: 'PUT' }, MISMATCH);
  });

  it('refuses a changed query, an added parameter or a dropped one', async () => {
    const request = await signed({ method: 'GET', query: { afterSeq: '3', limit: '50' } });

    await expectRefused({ ...request, rawQuery: 'afterSeq=0&limit=50' }, MISMATCH);
    await expectRefused({ ...request, rawQuery: `${request.rawQuery}&afterVersion=1` }, MISMATCH);
    await expectRefused({ ...request, rawQuery: 'limit=50' }, MISMATCH);
  });

  it('refuses a changed body when x-amz-content-sha256 was signed (it must be the body’s hash)', async () => {
    const request = await signed({ body: MESSAGE });
    const other = Buffer.from(MESSAGE.replace('Welcome!', 'Pay here'));

    await expectRefused({ ...request, body: other }, /'x-amz-content-sha256' header does not match/);
  });

  it('refuses a changed body when the signature alone covers it', async () => {
    const request = await signed({ body: MESSAGE, applyChecksum: false });

    await expectRefused({ ...request, body: Buffer.from(`${MESSAGE} `) }, MISMATCH);
  });

  it('refuses a signature whose signed headers leave host out', async () => {
    const request = await signed({ body: MESSAGE, unsignableHeaders: new Set(['host']) });

    expect(request.headers.authorization).not.toMatch(/SignedHeaders=[^,]*host/);
    await expectRefused(request, /^'Host' or ':authority' must be a 'SignedHeader'/);
  });

  it('refuses a signed header changed after signing', async () => {
    const request = await signed({ body: MESSAGE });

    await expectRefused({ ...request, headers: { ...request.headers, host: 'evil.example:3001' } }, MISMATCH);
  });

  it('refuses a security token that is present but not signed', async () => {
    const request = await signed({ body: MESSAGE });

    await expectRefused(
      { ...request, headers: { ...request.headers, 'x-amz-security-token': 'IQoJb3JpZ2luX2VjE' } },
      /'X-Amz-Security-Token' must be a 'SignedHeader'/,
    );
  });

  it('refuses a request without Authorization', async () => {
    const request = await signed({ body: MESSAGE });
    const { authorization: _, ...headers } = request.headers;

    await expectRefused({ ...request, headers }, /^Missing Authentication Token$/);
    await expectRefused(
      { ...request, headers: { ...headers, authorization: ' ' } },
      /^Missing Authentication Token$/,
    );
  });

  it.each([
    ['another scheme', 'Bearer abc'],
    ['no parameters', 'AWS4-HMAC-SHA256'],
    [
      'no Signature',
      'AWS4-HMAC-SHA256 Credential=PARLEYLOCALKEY/20300115/local/execute-api/aws4_request, SignedHeaders=host;x-amz-date',
    ],
    [
      'a short credential',
      `AWS4-HMAC-SHA256 Credential=PARLEYLOCALKEY/20300115/local, SignedHeaders=host, Signature=${'a'.repeat(64)}`,
    ],
    [
      'no terminator',
      `AWS4-HMAC-SHA256 Credential=PARLEYLOCALKEY/20300115/local/execute-api/x, SignedHeaders=host, Signature=${'a'.repeat(64)}`,
    ],
    [
      'a pair without =',
      `AWS4-HMAC-SHA256 Credential=PARLEYLOCALKEY/20300115/local/execute-api/aws4_request, host, Signature=${'a'.repeat(64)}`,
    ],
    [
      'a short signature',
      'AWS4-HMAC-SHA256 Credential=PARLEYLOCALKEY/20300115/local/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc',
    ],
    [
      'uppercase signed headers',
      `AWS4-HMAC-SHA256 Credential=PARLEYLOCALKEY/20300115/local/execute-api/aws4_request, SignedHeaders=Host;X-Amz-Date, Signature=${'a'.repeat(64)}`,
    ],
  ])('refuses a malformed Authorization header: %s', async (_, authorization) => {
    const request = await signed({ body: MESSAGE });

    const verdict = await verifier.verify({ ...request, headers: { ...request.headers, authorization } });

    expect(verdict).toMatchObject({ ok: false, statusCode: 403, error: { code: 'forbidden' } });
    if (!verdict.ok) expect(verdict.error.message).not.toMatch(/Signature=a{64}/);
  });

  it('refuses a missing or malformed X-Amz-Date', async () => {
    const request = await signed({ body: MESSAGE });
    const { 'x-amz-date': _, ...withoutDate } = request.headers;

    await expectRefused({ ...request, headers: withoutDate }, /requires existence of either a 'X-Amz-Date'/);
    for (const date of ['2030-01-15T12:00:00Z', '20300115T120000', '20300231T120000Z', 'yesterday']) {
      await expectRefused(
        { ...request, headers: { ...request.headers, 'x-amz-date': date } },
        /^Date must be in ISO-8601 'basic format'/,
      );
    }
  });

  it('refuses an X-Amz-Date changed after signing (the scope names the day signed)', async () => {
    const request = await signed({ body: MESSAGE });

    await expectRefused(
      { ...request, headers: { ...request.headers, 'x-amz-date': '20300115T120100Z' } },
      MISMATCH,
    );
    await expectRefused(
      { ...request, headers: { ...request.headers, 'x-amz-date': '20300116T000100Z' } },
      /Date in Credential scope does not match/,
    );
  });
});

describe('parseQuery', () => {
  it('decodes names and values, keeps repeated names and a literal +', () => {
    expect(parseQuery('a=1&b=x%20y&a=2&flag&c=1+1')).toEqual({ a: ['1', '2'], b: 'x y', flag: '', c: '1+1' });
    expect(parseQuery('')).toEqual({});
  });
});

describe('resolveLocalServerCredentials', () => {
  it('is the documented pair unless the environment overrides it', () => {
    expect(resolveLocalServerCredentials({})).toEqual(CREDENTIALS);
    expect(
      resolveLocalServerCredentials({
        PARLEY_LOCAL_ACCESS_KEY_ID: 'MYKEY',
        PARLEY_LOCAL_SECRET_ACCESS_KEY: 'my-secret',
      }),
    ).toEqual({ accessKeyId: 'MYKEY', secretAccessKey: 'my-secret' });
    expect(resolveLocalServerCredentials({ PARLEY_LOCAL_ACCESS_KEY_ID: '' }).accessKeyId).toBe(
      'PARLEYLOCALKEY',
    );
  });

  it('refuses a key id that cannot appear in a credential scope', () => {
    expect(() => resolveLocalServerCredentials({ PARLEY_LOCAL_ACCESS_KEY_ID: 'a/b' })).toThrow(
      /PARLEY_LOCAL_ACCESS_KEY_ID/,
    );
  });
});

/**
 * The authorizer configured with JWKS_URL (RS256/ES256, issuer and audience checked). The key set is
 * served by a local HTTP server that counts its requests, so the cache and the refetch cooldown are
 * observed from the outside. Each test imports a fresh module: a cold start with an empty key cache.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { type CryptoKey, errors, exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { handler as Handler } from '../../../functions/authorizer/authorizer.ts';
import { JWKS_COOLDOWN_MS } from '../../../functions/authorizer/verifier.ts';
import { connectEvent } from './events.ts';
import { claims, signHs256, signWithKey, unsignedToken } from './tokens.ts';

const ISSUER = 'https://issuer.parley.test/';
const AUDIENCE = 'parley-mobile';

interface SigningKey {
  privateKey: CryptoKey;
  jwk: JWK;
}

const dynamo = mockClient(DynamoDBDocumentClient);
const jwksServer = createServer((_request, response) => {
  jwksRequests += 1;
  response.writeHead(jwksStatus, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ keys: servedKeys }));
});
let jwksUrl = '';
let jwksRequests = 0;
let jwksStatus = 200;
let servedKeys: JWK[] = [];
let rsa: SigningKey;
let ec: SigningKey;
let rotatedRsa: SigningKey;
let rsaPublicPem = '';

async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

async function loadHandler(): Promise<typeof Handler> {
  vi.resetModules();
  vi.stubEnv('JWT_SECRET', '');
  vi.stubEnv('JWKS_URL', jwksUrl);
  vi.stubEnv('JWT_ISSUER', ISSUER);
  vi.stubEnv('JWT_AUDIENCE', AUDIENCE);
  return (await import('../../../functions/authorizer/authorizer.ts')).handler;
}

const issuedClaims = (overrides: Record<string, unknown> = {}) =>
  claims({ iss: ISSUER, aud: AUDIENCE, ...overrides });

const queryEvent = (token: string) => connectEvent({ query: { token } });

async function expectUnauthorized(result: Promise<unknown>) {
  await expect(result).rejects.toThrowError(/^Unauthorized$/);
}

beforeAll(async () => {
  [rsa, ec, rotatedRsa] = await Promise.all([
    signingKey('RS256', 'rsa-1'),
    signingKey('ES256', 'ec-1'),
    signingKey('RS256', 'rsa-2'),
  ]);
  const { publicKey } = await generateKeyPair('RS256');
  rsaPublicPem = await exportSPKI(publicKey);
  jwksServer.listen(0, '127.0.0.1');
  await once(jwksServer, 'listening');
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
});

afterAll(async () => {
  jwksServer.closeAllConnections();
  jwksServer.close();
  await once(jwksServer, 'close');
});

beforeEach(() => {
  jwksRequests = 0;
  jwksStatus = 200;
  servedKeys = [rsa.jwk, ec.jwk];
  dynamo.on(BatchGetCommand).resolves({ Responses: { 'parley-test': [] } });
});

afterEach(() => {
  dynamo.reset();
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('accepted tokens', () => {
  it.each([
    ['RS256', () => rsa, 'rsa-1'],
    ['ES256', () => ec, 'ec-1'],
  ] as const)('allows a %s token from the configured issuer for the configured audience', async (alg, key, kid) => {
    // Prepare
    const handler = await loadHandler();
    const token = await signWithKey(issuedClaims(), key().privateKey, { alg, kid });

    // Act
    const result = await handler(queryEvent(token));

    // Assess
    expect(result).toMatchObject({
      principalId: 'alice',
      context: { userId: 'alice', name: 'Alice Example' },
    });
    expect(jwksRequests).toBe(1);
  });

  it('fetches the key set once for many tokens', async () => {
    const handler = await loadHandler();
    const token = await signWithKey(issuedClaims(), rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });

    await handler(queryEvent(token));
    await handler(queryEvent(token));
    await handler(queryEvent(token));

    expect(jwksRequests).toBe(1);
  });
});

describe('refused with 401', () => {
  it.each([
    ['another issuer', { iss: 'https://evil.example/' }],
    ['no issuer', { iss: undefined }],
    ['another audience', { aud: 'someone-else' }],
    ['no audience', { aud: undefined }],
    ['no exp', { exp: undefined }],
  ])('refuses a token with %s', async (_case, overrides) => {
    const handler = await loadHandler();
    const token = await signWithKey(issuedClaims(overrides), rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });

    await expectUnauthorized(handler(queryEvent(token)));
  });

  it('refuses a token signed by a key that is not in the set, under a known kid', async () => {
    const handler = await loadHandler();
    const token = await signWithKey(issuedClaims(), rotatedRsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });

    await expectUnauthorized(handler(queryEvent(token)));
  });

  it('refuses an HS256 token signed with a shared secret (algorithm switching)', async () => {
    const handler = await loadHandler();
    const token = await signHs256(issuedClaims(), 'a-shared-secret-the-attacker-chose-itself');

    await expectUnauthorized(handler(queryEvent(token)));
    // Refused by the pinned algorithm list before any key is even looked up.
    expect(jwksRequests).toBe(0);
  });

  it('refuses an HS256 token that uses the public key as its HMAC secret (algorithm confusion)', async () => {
    const handler = await loadHandler();
    const token = await signHs256(issuedClaims(), new TextEncoder().encode(rsaPublicPem));

    await expectUnauthorized(handler(queryEvent(token)));
    expect(jwksRequests).toBe(0);
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const handler = await loadHandler();

    await expectUnauthorized(handler(queryEvent(unsignedToken(issuedClaims()))));
  });
});

describe('key set cache', () => {
  it('does not refetch for an unknown kid within the cooldown, and picks up a rotated key after it', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const handler = await loadHandler();
    const known = await signWithKey(issuedClaims(), rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });
    await handler(queryEvent(known));
    servedKeys = [rsa.jwk, ec.jwk, rotatedRsa.jwk];

    // Within the cooldown an unknown kid is refused from the cache: junk kids cannot hammer the issuer.
    const rotated = await signWithKey(issuedClaims(), rotatedRsa.privateKey, { alg: 'RS256', kid: 'rsa-2' });
    await expectUnauthorized(handler(queryEvent(rotated)));
    await expectUnauthorized(handler(queryEvent(rotated)));
    expect(jwksRequests).toBe(1);

    // After the cooldown the same kid triggers one refetch, which finds the rotated key.
    vi.setSystemTime(Date.now() + JWKS_COOLDOWN_MS + 1_000);
    const later = await signWithKey(issuedClaims(), rotatedRsa.privateKey, { alg: 'RS256', kid: 'rsa-2' });
    await expect(handler(queryEvent(later))).resolves.toMatchObject({ principalId: 'alice' });
    expect(jwksRequests).toBe(2);
  });
});

describe('issuer outage (500, not 401)', () => {
  it('fails with the fetch error when the key set cannot be fetched', async () => {
    jwksStatus = 503;
    const handler = await loadHandler();
    const token = await signWithKey(issuedClaims(), rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });

    const failure = await handler(queryEvent(token)).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(errors.JOSEError);
    expect(failure).not.toHaveProperty('message', 'Unauthorized');
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('counts an outage as AuthorizerFailures, and refusals under their reasons, never the other way round', async () => {
    // GIVEN metrics written as in Lambda
    vi.stubEnv('PARLEY_METRICS', 'on');
    const handler = await loadHandler();
    const stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
    const counted = () =>
      stdout.mock.calls
        .map(([chunk]) => JSON.parse(String(chunk)) as Record<string, unknown>)
        .filter((line) => '_aws' in line)
        .map(({ _aws, ...members }) => members);
    const good = await signWithKey(issuedClaims(), rsa.privateKey, { alg: 'RS256', kid: 'rsa-1' });
    const unknownKey = await signWithKey(issuedClaims(), rotatedRsa.privateKey, {
      alg: 'RS256',
      kid: 'rsa-1',
    });
    const otherIssuer = await signWithKey(issuedClaims({ iss: 'https://evil.example/' }), rsa.privateKey, {
      alg: 'RS256',
      kid: 'rsa-1',
    });

    // WHEN the issuer is down for the first connection, then answers for two bad tokens
    jwksStatus = 503;
    await expect(handler(queryEvent(good))).rejects.toBeInstanceOf(errors.JOSEError);
    jwksStatus = 200;
    await expectUnauthorized(handler(queryEvent(unknownKey)));
    await expectUnauthorized(handler(queryEvent(otherIssuer)));
    const metrics = counted();
    stdout.mockRestore();

    // THEN
    expect(metrics).toEqual([
      { AuthorizerFailures: 1 },
      { Reason: 'bad_signature', ConnectionsRefused: 1 },
      { Reason: 'invalid_claims', ConnectionsRefused: 1 },
    ]);
  });
});

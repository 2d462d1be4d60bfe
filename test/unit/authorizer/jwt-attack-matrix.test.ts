/**
 * The `$connect` authorizer against a matrix of JWT attacks, in its three configurations: HS256 with a
 * shared secret, HS256 with JWT_ISSUER / JWT_AUDIENCE pinned, and JWKS (RS256/ES256, issuer and
 * audience mandatory) against a key set served locally. Every row names the attack, the token it sends
 * and the exact outcome: 401 (the handler throws `Unauthorized`, which API Gateway answers 401), 403
 * (a Deny policy: deactivated user) or, for the control rows and for header tricks that must simply be
 * ignored, Allow. A refusal is also checked for the reason it is counted under
 * (ConnectionsRefused{Reason}, definitions/metrics.ts), so a row cannot pass by being refused for
 * something other than the attack.
 *
 * Tokens are signed here with node:crypto over hand-made headers, so that any header (`alg: none` with
 * a signature, `crit`, `jku`, an embedded `jwk`, a `kid` with a path in it) can be sent as an attacker
 * would, without a JOSE library refusing to make it. Revocation and deactivation rows answer the
 * authorizer's one BatchGetItem with the stored items (DynamoDB mocked, as in authorizer.test.ts).
 *
 * Rows overlapping existing tests (kept here so the matrix reads as a whole): authorizer.test.ts
 * (alg none, expiry, nbf, sub charset, revoked jti, revoke-all, deactivated 403, oversized token),
 * jwks.test.ts (issuer, audience, HS256 with the public key as secret, alg none in JWKS mode),
 * hs256-issuer-audience.test.ts (issuer and audience in HS256 mode), fuzz.test.ts (junk of any shape).
 */
import {
  constants,
  createHmac,
  sign as cryptoSign,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RefusalReason } from '../../../definitions/metrics.ts';
import { MAX_TOKEN_CHARS } from '../../../functions/authorizer/authorize.ts';
import type { handler as Handler } from '../../../functions/authorizer/authorizer.ts';
import { CLOCK_TOLERANCE_SECONDS } from '../../../functions/authorizer/verifier.ts';
import { connectEvent } from './events.ts';
import { unitSecret } from './tokens.ts';

type Mode = 'hs256' | 'hs256 pinned' | 'jwks';
type Outcome = { status: 200 } | { status: 401; reason: RefusalReason } | { status: 403 };

interface Attack {
  readonly mode: Mode;
  readonly attack: string;
  /** The token (built when the row runs: keys and servers exist by then). */
  readonly token: () => string;
  readonly expect: Outcome;
  /** What the authorizer's BatchGetItem finds (user state, revoked jti); nothing by default. */
  readonly stored?: () => Record<string, unknown>[];
  /** Extra query parameters of the upgrade. */
  readonly query?: Record<string, string>;
}

const TABLE = 'parley-test';
const ISSUER = 'https://issuer.parley.test/';
const AUDIENCE = 'parley-mobile';
const ALLOW: Outcome = { status: 200 };
const DENY: Outcome = { status: 403 };
const refused = (reason: RefusalReason): Outcome => ({ status: 401, reason });

// ---- keys and key sets ----

interface RsaOrEc {
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JsonWebKey;
}

function keyPair(kind: 'rsa' | 'ec', kid: string, alg: string): RsaOrEc {
  const { privateKey, publicKey } =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

const rsa = keyPair('rsa', 'rsa-1', 'RS256');
const ec = keyPair('ec', 'ec-1', 'ES256');
/** The attacker's own key pair: never in the trusted set. */
const attacker = keyPair('rsa', 'attacker-1', 'RS256');
const rsaPublicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();

/** A key set server that records the paths asked for. */
function keySetServer(keys: () => JsonWebKey[]): { server: Server; paths: string[]; url: () => string } {
  const paths: string[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    paths.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: keys() }));
  });
  return {
    server,
    paths,
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
}

const JWKS_PATH = '/.well-known/jwks.json';
const trusted = keySetServer(() => [rsa.jwk, ec.jwk]);
/** Where `jku` / `x5u` headers point: it must never be asked. */
const evil = keySetServer(() => [attacker.jwk]);

// ---- signing anything ----

const part = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

type Signer =
  | { readonly hmac: 'sha256' | 'sha384' | 'sha512'; readonly secret: string | Buffer }
  | { readonly rsa: 'sha256' | 'sha512'; readonly key: KeyObject; readonly pss?: boolean }
  | { readonly ecdsa: KeyObject }
  | { readonly raw: string };

/** A compact JWS of exactly this header and payload (payload as JSON text when a string). */
function jws(
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
  signer: Signer,
): string {
  const input = `${part(header)}.${part(payload)}`;
  let signature: string;
  if ('hmac' in signer) signature = createHmac(signer.hmac, signer.secret).update(input).digest('base64url');
  else if ('rsa' in signer) {
    const key = signer.pss
      ? { key: signer.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : signer.key;
    signature = cryptoSign(signer.rsa, Buffer.from(input), key).toString('base64url');
  } else if ('ecdsa' in signer) {
    signature = cryptoSign('sha256', Buffer.from(input), {
      key: signer.ecdsa,
      dsaEncoding: 'ieee-p1363',
    }).toString('base64url');
  } else signature = signer.raw;
  return `${input}.${signature}`;
}

const now = (): number => Math.floor(Date.now() / 1000);

/** A good claim set for alice; `undefined` removes a claim. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const merged: Record<string, unknown> = {
    sub: 'alice',
    name: 'Alice Example',
    iat: now() - 5,
    exp: now() + 600,
    jti: 'jti-attack-1',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
}
const issued = (overrides: Record<string, unknown> = {}) =>
  claims({ iss: ISSUER, aud: AUDIENCE, ...overrides });

const SECRET = (): string => unitSecret();
const HS256 = (): Signer => ({ hmac: 'sha256', secret: SECRET() });
const RS256: Signer = { rsa: 'sha256', key: rsa.privateKey };
const hs = (payload: Record<string, unknown> = claims(), header: Record<string, unknown> = {}) =>
  jws({ alg: 'HS256', typ: 'JWT', ...header }, payload, HS256());
const rs = (
  payload: Record<string, unknown> = issued(),
  header: Record<string, unknown> = { kid: 'rsa-1' },
) => jws({ alg: 'RS256', typ: 'JWT', ...header }, payload, RS256);
const byAttacker = (header: Record<string, unknown>, payload: Record<string, unknown> = issued()) =>
  jws({ alg: 'RS256', typ: 'JWT', ...header }, payload, { rsa: 'sha256', key: attacker.privateKey });

const ALICE_STATE = { PK: 'USER#alice', SK: 'STATE' };
const REVOKED_JTI = { PK: 'JTI#jti-attack-1', SK: 'JTI' };

// ---- the matrix ----

const MATRIX: readonly Attack[] = [
  // HS256 with the shared secret; no issuer or audience configured.
  { mode: 'hs256', attack: 'control: a valid HS256 token', token: () => hs(), expect: ALLOW },
  {
    mode: 'hs256',
    attack: 'alg none, no signature',
    token: () => jws({ alg: 'none', typ: 'JWT' }, claims(), { raw: '' }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'alg none, with the HS256 signature of the same input appended',
    token: () => hs(claims(), { alg: 'none' }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'alg "None" / "NONE" spelled otherwise',
    token: () => jws({ alg: 'NONE', typ: 'JWT' }, claims(), { raw: '' }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'HS512 signed with the right secret (HS256 is pinned)',
    token: () => jws({ alg: 'HS512', typ: 'JWT' }, claims(), { hmac: 'sha512', secret: SECRET() }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'HS384 signed with the right secret',
    token: () => jws({ alg: 'HS384', typ: 'JWT' }, claims(), { hmac: 'sha384', secret: SECRET() }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'RS256 token (an asymmetric key the server never configured)',
    token: () => rs(claims()),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'ES256 token',
    token: () => jws({ alg: 'ES256', typ: 'JWT', kid: 'ec-1' }, claims(), { ecdsa: ec.privateKey }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'HS256 signed with another secret',
    token: () =>
      jws({ alg: 'HS256', typ: 'JWT' }, claims(), { hmac: 'sha256', secret: 'attacker-chosen-secret' }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'HS256 signed with an empty secret',
    token: () => jws({ alg: 'HS256', typ: 'JWT' }, claims(), { hmac: 'sha256', secret: '' }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'signature stripped (header.payload.)',
    token: () => `${hs().split('.').slice(0, 2).join('.')}.`,
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'claims swapped under a valid signature (sub: mallory → alice)',
    token: () => {
      const [header, , signature] = hs(claims({ sub: 'mallory' })).split('.');
      return `${header}.${part(claims())}.${signature}`;
    },
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'kid with path traversal on a correctly signed token (kid is ignored: the pinned secret decides)',
    token: () => hs(claims(), { kid: '../../../../etc/passwd' }),
    expect: ALLOW,
  },
  {
    mode: 'hs256',
    attack: 'kid with path traversal, signed with a secret of the attacker',
    token: () =>
      jws({ alg: 'HS256', typ: 'JWT', kid: '../../../../dev/null' }, claims(), {
        hmac: 'sha256',
        secret: '',
      }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'jku pointing to the attacker’s key set, RS256 by the attacker',
    token: () => byAttacker({ kid: 'attacker-1', jku: `${evil.url()}/jwks.json` }, claims()),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'embedded jwk header with the attacker’s public key',
    token: () => byAttacker({ jwk: attacker.jwk }, claims()),
    expect: refused('bad_signature'),
  },
  {
    mode: 'hs256',
    attack: 'crit naming an unknown extension',
    token: () => hs(claims(), { crit: ['x-parley'], 'x-parley': true }),
    expect: refused('malformed'),
  },
  {
    mode: 'hs256',
    attack: 'crit: ["b64"], b64: false (unencoded payload)',
    token: () => hs(claims(), { crit: ['b64'], b64: false }),
    expect: refused('malformed'),
  },
  {
    mode: 'hs256',
    attack: 'crit naming a registered header (exp)',
    token: () => hs(claims(), { crit: ['exp'] }),
    expect: refused('malformed'),
  },
  {
    mode: 'hs256',
    attack: 'no exp',
    token: () => hs(claims({ exp: undefined })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'hs256',
    attack: 'exp as a string',
    token: () => hs(claims({ exp: String(now() + 600) })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'hs256',
    attack: `exp past, beyond the ${CLOCK_TOLERANCE_SECONDS} s leeway (by a minute)`,
    token: () => hs(claims({ exp: now() - CLOCK_TOLERANCE_SECONDS - 60 })),
    expect: refused('expired'),
  },
  {
    mode: 'hs256',
    attack: 'nbf in the future, beyond the leeway',
    token: () => hs(claims({ nbf: now() + CLOCK_TOLERANCE_SECONDS + 300 })),
    expect: refused('invalid_claims'),
  },
  ...(
    [
      ['with a space', 'alice smith'],
      ['with a #, which would break DynamoDB keys', 'alice#STATE'],
      ['with a path', '../alice'],
      ['Cyrillic а instead of a (homoglyph)', '\u0430lice'],
      ['with a NUL', 'alice\u0000'],
      ['with a zero-width space', 'ali\u200bce'],
      ['empty', ''],
      ['65 characters', 'a'.repeat(65)],
      ['a number', 42],
      ['an array', ['alice']],
      ['system, reserved for the app backend’s notices', 'system'],
    ] as const
  ).map(
    ([what, sub]): Attack => ({
      mode: 'hs256',
      attack: `sub ${what}`,
      token: () => hs(claims({ sub })),
      expect: refused('invalid_claims'),
    }),
  ),
  {
    mode: 'hs256',
    attack: 'deviceId outside its charset on a valid token',
    token: () => hs(),
    query: { deviceId: '../phone' },
    expect: refused('bad_device_id'),
  },
  {
    mode: 'hs256',
    attack: `a huge token: valid signature, over ${MAX_TOKEN_CHARS} characters`,
    token: () => hs(claims({ padding: 'x'.repeat(MAX_TOKEN_CHARS) })),
    expect: refused('malformed'),
  },
  {
    mode: 'hs256',
    attack: 'a 100 KB token of junk',
    token: () => `${'A'.repeat(50_000)}.${'B'.repeat(50_000)}.C`,
    expect: refused('malformed'),
  },
  {
    mode: 'hs256',
    attack: 'a JWE-shaped token (five parts)',
    token: () =>
      `${part({ alg: 'dir', enc: 'A256GCM' })}..${part('iv')}.${part('ciphertext')}.${part('tag')}`,
    expect: refused('malformed'),
  },
  {
    mode: 'hs256',
    attack: 'a header that is not JSON',
    token: () => `${part('not json')}.${part(claims())}.${part('sig')}`,
    expect: refused('malformed'),
  },
  {
    mode: 'hs256',
    attack: 'revoked jti',
    token: () => hs(),
    stored: () => [REVOKED_JTI],
    expect: refused('revoked'),
  },
  {
    mode: 'hs256',
    attack: 'issued before the user’s revoke-all time',
    token: () => hs(claims({ iat: now() - 120 })),
    stored: () => [{ ...ALICE_STATE, sessionsRevokedAt: now() - 60 }],
    expect: refused('revoked'),
  },
  {
    mode: 'hs256',
    attack: 'no iat, after a revoke-all (nothing shows it is newer)',
    token: () => hs(claims({ iat: undefined })),
    stored: () => [{ ...ALICE_STATE, sessionsRevokedAt: now() - 60 }],
    expect: refused('revoked'),
  },
  {
    mode: 'hs256',
    attack: 'control: issued after the revoke-all time',
    token: () => hs(claims({ iat: now() - 5 })),
    stored: () => [{ ...ALICE_STATE, sessionsRevokedAt: now() - 60 }],
    expect: ALLOW,
  },
  {
    mode: 'hs256',
    attack: 'deactivated user',
    token: () => hs(),
    stored: () => [{ ...ALICE_STATE, deactivated: true }],
    expect: DENY,
  },
  {
    mode: 'hs256',
    attack: 'deactivated user with a revoked jti (401 first: a revoked token learns nothing of the account)',
    token: () => hs(),
    stored: () => [{ ...ALICE_STATE, deactivated: true }, REVOKED_JTI],
    expect: refused('revoked'),
  },

  // HS256 with JWT_ISSUER and JWT_AUDIENCE set.
  {
    mode: 'hs256 pinned',
    attack: 'control: the pinned issuer and audience',
    token: () => hs(issued()),
    expect: ALLOW,
  },
  {
    mode: 'hs256 pinned',
    attack: 'wrong iss',
    token: () => hs(issued({ iss: 'https://evil.example/' })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'hs256 pinned',
    attack: 'iss differing only by its trailing slash',
    token: () => hs(issued({ iss: ISSUER.slice(0, -1) })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'hs256 pinned',
    attack: 'no iss',
    token: () => hs(issued({ iss: undefined })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'hs256 pinned',
    attack: 'wrong aud',
    token: () => hs(issued({ aud: 'another-app' })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'hs256 pinned',
    attack: 'aud list without ours',
    token: () => hs(issued({ aud: ['another-app', `${AUDIENCE}-staging`] })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'hs256 pinned',
    attack: 'no aud',
    token: () => hs(issued({ aud: undefined })),
    expect: refused('invalid_claims'),
  },

  // JWKS: RS256/ES256 against the configured key set URL, issuer and audience mandatory.
  { mode: 'jwks', attack: 'control: RS256 by the trusted key', token: () => rs(), expect: ALLOW },
  {
    mode: 'jwks',
    attack: 'control: ES256 by the trusted key',
    token: () => jws({ alg: 'ES256', typ: 'JWT', kid: 'ec-1' }, issued(), { ecdsa: ec.privateKey }),
    expect: ALLOW,
  },
  {
    mode: 'jwks',
    attack: 'alg none',
    token: () => jws({ alg: 'none', typ: 'JWT', kid: 'rsa-1' }, issued(), { raw: '' }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'HS256 signed with the RSA public key’s PEM as the secret (algorithm confusion)',
    token: () =>
      jws({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }, issued(), { hmac: 'sha256', secret: rsaPublicPem }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'HS256 signed with the JWK’s JSON as the secret',
    token: () =>
      jws({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }, issued(), {
        hmac: 'sha256',
        secret: JSON.stringify(rsa.jwk),
      }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'RS512 by the trusted key (not an accepted algorithm)',
    token: () =>
      jws({ alg: 'RS512', typ: 'JWT', kid: 'rsa-1' }, issued(), { rsa: 'sha512', key: rsa.privateKey }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'PS256 by the trusted key',
    token: () =>
      jws({ alg: 'PS256', typ: 'JWT', kid: 'rsa-1' }, issued(), {
        rsa: 'sha256',
        key: rsa.privateKey,
        pss: true,
      }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'alg ES256 in the header, RS256 signature under the RSA kid',
    token: () => jws({ alg: 'ES256', typ: 'JWT', kid: 'rsa-1' }, issued(), RS256),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'kid pointing to an unknown key',
    token: () => rs(issued(), { kid: 'rsa-404' }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'kid with path traversal',
    token: () => byAttacker({ kid: '../../../attacker/jwks.json' }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'kid with SQL-ish content',
    token: () => byAttacker({ kid: "rsa-1' OR '1'='1" }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'kid that is not a string (an object, NoSQL-style)',
    token: () => byAttacker({ kid: { $ne: null } }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'the trusted kid, signed by the attacker’s key',
    token: () => byAttacker({ kid: 'rsa-1' }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'jku pointing to the attacker’s key set (must be ignored: only JWKS_URL is used)',
    token: () => byAttacker({ kid: 'attacker-1', jku: `${evil.url()}/jwks.json` }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'x5u pointing to the attacker',
    token: () => byAttacker({ kid: 'attacker-1', x5u: `${evil.url()}/cert.pem` }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'embedded jwk header with the attacker’s public key',
    token: () => byAttacker({ kid: 'attacker-1', jwk: attacker.jwk }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'x5c chain of the attacker',
    token: () => byAttacker({ kid: 'attacker-1', x5c: [part('not a certificate')] }),
    expect: refused('bad_signature'),
  },
  {
    mode: 'jwks',
    attack: 'jku to the attacker on a token the trusted key signed (the header is ignored, not obeyed)',
    token: () => rs(issued(), { kid: 'rsa-1', jku: `${evil.url()}/jwks.json` }),
    expect: ALLOW,
  },
  {
    mode: 'jwks',
    attack: 'crit naming an unknown extension',
    token: () => rs(issued(), { kid: 'rsa-1', crit: ['x-parley'], 'x-parley': 1 }),
    expect: refused('malformed'),
  },
  {
    mode: 'jwks',
    attack: 'wrong iss',
    token: () => rs(issued({ iss: 'https://evil.example/' })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'jwks',
    attack: 'wrong aud',
    token: () => rs(issued({ aud: 'another-app' })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'jwks',
    attack: 'no exp',
    token: () => rs(issued({ exp: undefined })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'jwks',
    attack: 'exp past, beyond the leeway',
    token: () => rs(issued({ exp: now() - CLOCK_TOLERANCE_SECONDS - 60 })),
    expect: refused('expired'),
  },
  {
    mode: 'jwks',
    attack: 'nbf in the future',
    token: () => rs(issued({ nbf: now() + CLOCK_TOLERANCE_SECONDS + 300 })),
    expect: refused('invalid_claims'),
  },
  {
    mode: 'jwks',
    attack: 'revoked jti',
    token: () => rs(),
    stored: () => [REVOKED_JTI],
    expect: refused('revoked'),
  },
  {
    mode: 'jwks',
    attack: 'deactivated user',
    token: () => rs(),
    stored: () => [{ ...ALICE_STATE, deactivated: true }],
    expect: DENY,
  },
];

// ---- running a row ----

const dynamo = mockClient(DynamoDBDocumentClient);
const handlers = new Map<Mode, typeof Handler>();

async function load(env: Record<string, string>): Promise<typeof Handler> {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const { handler } = await import('../../../functions/authorizer/authorizer.ts');
  vi.unstubAllEnvs();
  return handler;
}

/** What API Gateway would answer, and the reason the refusal was counted under. */
async function attempt(row: Attack): Promise<{ outcome: Outcome | { status: 500; error: unknown } }> {
  const handler = handlers.get(row.mode);
  if (handler === undefined) throw new Error(`no handler for ${row.mode}`);
  vi.stubEnv('PARLEY_METRICS', 'on');
  const stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
  let result: { policy?: Awaited<ReturnType<typeof Handler>>; error?: unknown };
  try {
    result = await handler(connectEvent({ query: { token: row.token(), ...row.query } })).then(
      (policy) => ({ policy }),
      (error: unknown) => ({ error }),
    );
  } finally {
    vi.unstubAllEnvs();
  }
  const reasons = stdout.mock.calls
    .map(([chunk]) => JSON.parse(String(chunk)) as Record<string, unknown>)
    .filter((line) => line.ConnectionsRefused === 1)
    .map((line) => line.Reason);
  stdout.mockRestore();
  if (result.policy !== undefined) {
    const effect = result.policy.policyDocument.Statement.map((statement) => statement.Effect);
    if (effect.length === 1 && effect[0] === 'Allow') {
      expect(result.policy.principalId).toBe('alice');
      expect(reasons).toEqual([]);
      return { outcome: ALLOW };
    }
    expect(effect).toEqual(['Deny']);
    expect(reasons).toEqual(['deactivated']);
    return { outcome: DENY };
  }
  if (result.error instanceof Error && result.error.message === 'Unauthorized') {
    expect(reasons).toHaveLength(1);
    return { outcome: refused(reasons[0] as RefusalReason) };
  }
  return { outcome: { status: 500, error: result.error } };
}

beforeAll(async () => {
  for (const { server } of [trusted, evil]) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  handlers.set('hs256', await load({}));
  handlers.set('hs256 pinned', await load({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE }));
  handlers.set(
    'jwks',
    await load({
      JWT_SECRET: '',
      JWKS_URL: `${trusted.url()}${JWKS_PATH}`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    }),
  );
});

afterAll(async () => {
  for (const { server } of [trusted, evil]) {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }
});

afterEach(() => {
  dynamo.reset();
});

describe('JWT attack matrix', () => {
  it.each(
    MATRIX.map((row) => [row.mode, row.attack, row.expect, row] as const),
  )('%s: %s → %o', async (_mode, _attack, expected, row) => {
    dynamo.on(BatchGetCommand).resolves({ Responses: { [TABLE]: row.stored?.() ?? [] } });

    const { outcome } = await attempt(row);

    expect(outcome).toEqual(expected);
    // A token that proved nothing never costs a database read.
    if (expected.status === 401 && expected.reason !== 'revoked') {
      expect(dynamo).not.toHaveReceivedAnyCommand();
    }
  });

  it('never fetched keys from anywhere but the configured JWKS URL', () => {
    expect(trusted.paths.length).toBeGreaterThan(0);
    expect(new Set(trusted.paths)).toEqual(new Set([JWKS_PATH]));
    expect(evil.paths).toEqual([]);
  });
});

/**
 * Signature and claim checks with jose. The algorithms are pinned per mode: the token's own `alg` header
 * never chooses how it is checked, which stops algorithm substitution (`alg: none`, or an HS256 token
 * "signed" with the JWKS public key as if it were a shared secret).
 */
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { AuthConfig } from './config.ts';
import type { UnauthorizedReason } from './refusal.ts';
import { createSecretProvider } from './secret.ts';

export type Verify = (token: string) => Promise<JWTPayload>;

/** Clocks of the token issuer and of Lambda drift apart a little; more would extend stolen tokens. */
export const CLOCK_TOLERANCE_SECONDS = 30;
/** An unknown `kid` refetches the JWKS at most this often, so junk tokens cannot hammer the issuer. */
export const JWKS_COOLDOWN_MS = 30_000;
/** Keys are refreshed this often even when every `kid` is known, so revoked signing keys age out. */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** Well inside API Gateway's authorizer budget. */
const JWKS_TIMEOUT_MS = 3_000;

export function createVerifier(config: AuthConfig): Verify {
  const required = { requiredClaims: ['exp', 'sub'], clockTolerance: CLOCK_TOLERANCE_SECONDS };
  if (config.mode === 'jwks') {
    const jwks = createRemoteJWKSet(config.jwksUrl, {
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      timeoutDuration: JWKS_TIMEOUT_MS,
    });
    const options: JWTVerifyOptions = {
      ...required,
      algorithms: ['RS256', 'ES256'],
      issuer: config.issuer,
      audience: config.audience,
    };
    return async (token) => (await jwtVerify(token, jwks, options)).payload;
  }
  const secret = createSecretProvider(config.secret);
  const options: JWTVerifyOptions = {
    ...required,
    algorithms: ['HS256'],
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  };
  return async (token) => (await jwtVerify(token, await secret(), options)).payload;
}

/**
 * Errors that mean "this token is not acceptable" (a 401), by the refusal reason they are counted
 * under. The rest of jose's errors mean the issuer's JWKS could not be fetched or used (timeout,
 * non-200, not a key set): the caller did nothing wrong, so those stay errors (a 500) rather than
 * turning an outage into a wave of refused logins.
 */
const TOKEN_FAULTS = new Map<string, UnauthorizedReason>([
  [errors.JWSInvalid.code, 'malformed'],
  [errors.JWTInvalid.code, 'malformed'],
  [errors.JOSENotSupported.code, 'malformed'],
  [errors.JWTExpired.code, 'expired'],
  [errors.JWTClaimValidationFailed.code, 'invalid_claims'],
  [errors.JWSSignatureVerificationFailed.code, 'bad_signature'],
  // An `alg` we do not accept (`none`, HS256 in JWKS mode, ...) is a token we cannot trust the signature of.
  [errors.JOSEAlgNotAllowed.code, 'bad_signature'],
  [errors.JWKSNoMatchingKey.code, 'bad_signature'],
  [errors.JWKSMultipleMatchingKeys.code, 'bad_signature'],
]);

interface TokenFault {
  reason: UnauthorizedReason;
  /** jose's error code, with the claim it names when a claim check failed. */
  detail: string;
}

/** Why jose refused the token, or undefined when `error` is not a verdict on the token. */
export function tokenFault(error: unknown): TokenFault | undefined {
  if (!(error instanceof errors.JOSEError)) return undefined;
  const reason = TOKEN_FAULTS.get(error.code);
  if (reason === undefined) return undefined;
  const claim = error instanceof errors.JWTClaimValidationFailed ? error.claim : undefined;
  return { reason, detail: claim === undefined ? error.code : `${error.code} (${claim})` };
}

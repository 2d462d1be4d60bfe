/**
 * Signature and claim checks with jose. The algorithms are pinned per mode: the token's own `alg` header
 * never chooses how it is checked, which stops algorithm substitution (`alg: none`, or an HS256 token
 * "signed" with the JWKS public key as if it were a shared secret).
 */
import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { AuthConfig } from './config.ts';
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
 * Errors that mean "this token is not acceptable" (a 401). The rest of jose's errors mean the issuer's
 * JWKS could not be fetched or used (timeout, non-200, not a key set): the caller did nothing wrong, so
 * those stay errors (a 500) rather than turning an outage into a wave of refused logins.
 */
const TOKEN_FAULTS = new Set<string>([
  errors.JWSInvalid.code,
  errors.JWTInvalid.code,
  errors.JWTExpired.code,
  errors.JWTClaimValidationFailed.code,
  errors.JWSSignatureVerificationFailed.code,
  errors.JOSEAlgNotAllowed.code,
  errors.JOSENotSupported.code,
  errors.JWKSNoMatchingKey.code,
  errors.JWKSMultipleMatchingKeys.code,
]);

export function isTokenFault(error: unknown): error is errors.JOSEError {
  return error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code);
}

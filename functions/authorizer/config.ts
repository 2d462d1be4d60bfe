/**
 * How tokens are verified, from the environment: either HS256 with a shared secret (`JWT_SECRET`, or
 * `JWT_SECRET_ID` naming a Secrets Manager secret), or RS256/ES256 against `JWKS_URL` with mandatory
 * `JWT_ISSUER` and `JWT_AUDIENCE`. Exactly one mode: a function configured for both would leave it
 * unclear which keys it trusts, so that fails at cold start like a missing variable does.
 */
import { optionalEnv, requiredEnv } from '../shared/env.ts';

export type SecretSource = { kind: 'value'; secret: string } | { kind: 'secretsManager'; secretId: string };

export type AuthConfig =
  | { mode: 'hs256'; secret: SecretSource; issuer: string | undefined; audience: string | undefined }
  | { mode: 'jwks'; jwksUrl: URL; issuer: string; audience: string };

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function readAuthConfig(): AuthConfig {
  const jwksUrl = optionalEnv('JWKS_URL');
  const secret = optionalEnv('JWT_SECRET');
  const secretId = optionalEnv('JWT_SECRET_ID');
  if (jwksUrl !== undefined) {
    if (secret !== undefined || secretId !== undefined) {
      throw new Error(
        'Environment variable JWKS_URL must not be set together with JWT_SECRET or JWT_SECRET_ID',
      );
    }
    return {
      mode: 'jwks',
      jwksUrl: parseJwksUrl(jwksUrl),
      issuer: requiredEnv('JWT_ISSUER'),
      audience: requiredEnv('JWT_AUDIENCE'),
    };
  }
  if (secret !== undefined && secretId !== undefined) {
    throw new Error('Environment variables JWT_SECRET and JWT_SECRET_ID are both set: set only one');
  }
  const issuer = optionalEnv('JWT_ISSUER');
  const audience = optionalEnv('JWT_AUDIENCE');
  if (secret !== undefined) return { mode: 'hs256', secret: { kind: 'value', secret }, issuer, audience };
  if (secretId !== undefined)
    return { mode: 'hs256', secret: { kind: 'secretsManager', secretId }, issuer, audience };
  throw new Error('Environment variable JWT_SECRET (or JWT_SECRET_ID, or JWKS_URL) is required but not set');
}

/** Keys fetched over plain HTTP could be swapped in transit; only a loopback address may skip TLS. */
function parseJwksUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`Environment variable JWKS_URL must be a URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw new Error(`Environment variable JWKS_URL must be an https URL, got "${raw}"`);
  }
  return url;
}

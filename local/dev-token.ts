/**
 * The development JWTs of the local stack, signed in one place for `npm run token` and for the demo
 * page's `POST /_local/dev-token`: HS256 with the local secret (`JWT_SECRET`, default
 * `parley-local-secret`), `sub`, `name` when given, `iat`, `exp`, a fresh `jti`, and `iss` / `aud`
 * when `JWT_ISSUER` / `JWT_AUDIENCE` are set, so the authorizer's checks pass as configured.
 * The environment is read at each call: the local stack fills in `JWT_SECRET` when it starts.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { DEFAULT_JWT_SECRET } from './jwt-secret.ts';

export interface DevTokenOptions {
  /** The token's `name` claim: the display name in push titles. */
  readonly name?: string;
  readonly ttlSeconds: number;
}

export function signDevToken(userId: string, { name, ttlSeconds }: DevTokenOptions): Promise<string> {
  const secret = new TextEncoder().encode(process.env.JWT_SECRET || DEFAULT_JWT_SECRET);
  let jwt = new SignJWT(name === undefined ? {} : { name })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .setJti(randomUUID());
  if (process.env.JWT_ISSUER) jwt = jwt.setIssuer(process.env.JWT_ISSUER);
  if (process.env.JWT_AUDIENCE) jwt = jwt.setAudience(process.env.JWT_AUDIENCE);
  return jwt.sign(secret);
}

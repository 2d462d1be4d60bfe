/** Token minting for the authorizer tests: every claim is explicit so a test can drop or skew any of them. */
import { base64url, CompactSign, type CryptoKey, type JWTPayload, SignJWT } from 'jose';

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A well-formed claim set for user `alice`; `undefined` in `overrides` removes that claim. */
export function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const now = nowSeconds();
  const merged: Record<string, unknown> = {
    sub: 'alice',
    name: 'Alice Example',
    iat: now - 5,
    exp: now + 600,
    jti: 'jti-0001',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
}

export function unitSecret(): string {
  const secret = process.env.JWT_SECRET;
  if (secret === undefined) throw new Error('unit-setup.ts sets JWT_SECRET');
  return secret;
}

export function signHs256(payload: JWTPayload, secret: string | Uint8Array = unitSecret()): Promise<string> {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
}

/** Signs any JSON text as the payload: SignJWT would refuse claims of the wrong type before signing. */
export function signHs256Raw(payloadJson: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payloadJson))
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(unitSecret()));
}

export function signWithKey(
  payload: JWTPayload,
  key: CryptoKey,
  header: { alg: 'RS256' | 'ES256'; kid?: string },
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ ...header, typ: 'JWT' }).sign(key);
}

/** `alg: none`: no signature at all, the classic bypass an unpinned verifier would accept. */
export function unsignedToken(payload: JWTPayload): string {
  const encode = (value: object) => base64url.encode(JSON.stringify(value));
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.`;
}

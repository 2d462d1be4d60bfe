/**
 * Turns verified claims and the `deviceId` query parameter into who is connecting. Charsets come from
 * protocol.md "Connecting"; they also keep ids safe inside DynamoDB keys (no `#`).
 */
import type { JWTPayload } from 'jose';
import { isDeviceId, isUserId } from '../domain/identifiers.ts';
import { Refusal } from './refusal.ts';

export interface TokenIdentity {
  userId: string;
  /** Display name for push titles: the `name` claim, trimmed and shortened, or the user id. */
  name: string;
  /** '' when the client gave none (authorizer context values must be strings). */
  deviceId: string;
  jti: string | undefined;
  /** `iat` in epoch seconds, when the token has one. */
  issuedAt: number | undefined;
  /** `exp` in epoch seconds, when the token has one. */
  expiresAt: number | undefined;
}

const MAX_NAME_CHARS = 100;
/** Far above any issuer's ids, far below DynamoDB's key size limit. */
const MAX_JTI_CHARS = 256;

export function toIdentity(claims: JWTPayload, deviceIdParameter: string | undefined): TokenIdentity {
  const { sub, jti, iat, exp } = claims;
  if (typeof sub !== 'string' || !isUserId(sub)) {
    throw new Refusal('invalid_claims', { detail: 'bad_subject' });
  }
  const userId = sub;
  if (deviceIdParameter !== undefined && !isDeviceId(deviceIdParameter)) {
    throw new Refusal('bad_device_id', { userId });
  }
  if (jti !== undefined && (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_CHARS)) {
    throw new Refusal('invalid_claims', { userId, detail: 'bad_jti' });
  }
  return {
    userId,
    name: displayName(claims.name) ?? userId,
    deviceId: deviceIdParameter ?? '',
    jti,
    issuedAt: iat,
    expiresAt: exp,
  };
}

/** Cut by code points so an emoji at the limit is not split into half a surrogate pair. */
function displayName(claim: unknown): string | undefined {
  if (typeof claim !== 'string') return undefined;
  const name = Array.from(claim.trim()).slice(0, MAX_NAME_CHARS).join('');
  return name === '' ? undefined : name;
}

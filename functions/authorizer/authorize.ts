/**
 * The `$connect` decision, free of Lambda plumbing: find the token, verify it, check who it names, then
 * ask DynamoDB whether it still stands. Refusals come back as values with their reason; only failures
 * of our own infrastructure are thrown.
 */
import type { WebSocketConnectAuthorizerEvent } from './event.ts';
import { type TokenIdentity, toIdentity } from './identity.ts';
import { Refusal, type UnauthorizedReason } from './refusal.ts';
import { standingOf } from './revocation.ts';
import { findToken, queryParameter, type TokenSource } from './token-source.ts';
import { tokenFault, type Verify } from './verifier.ts';

export type Decision =
  | { outcome: 'allow'; identity: TokenIdentity; tokenSource: TokenSource }
  /** The token is good but the user is deactivated: a 403. */
  | { outcome: 'deny'; identity: TokenIdentity; tokenSource: TokenSource }
  /** A 401. `detail` says what exactly was wrong (jose's error code when verification failed). */
  | {
      outcome: 'refuse';
      reason: UnauthorizedReason;
      userId: string | undefined;
      tokenSource: TokenSource | undefined;
      detail: string | undefined;
    };

/** Real tokens are well under 2 KB; refusing larger ones early bounds the work junk can cause. */
export const MAX_TOKEN_CHARS = 8_192;

export async function authorize(event: WebSocketConnectAuthorizerEvent, verify: Verify): Promise<Decision> {
  const found = findToken(event);
  if (found === undefined) return refuse('missing_token', undefined);
  const { token, source } = found;
  if (token.length > MAX_TOKEN_CHARS) return refuse('malformed', source, undefined, 'oversized_token');
  try {
    const identity = toIdentity(await verify(token), queryParameter(event, 'deviceId'));
    const standing = await standingOf(identity);
    if (standing === 'token_revoked' || standing === 'sessions_revoked') {
      throw new Refusal('revoked', { userId: identity.userId, detail: standing });
    }
    return { outcome: standing === 'deactivated' ? 'deny' : 'allow', identity, tokenSource: source };
  } catch (error) {
    if (error instanceof Refusal) return refuse(error.reason, source, error.userId, error.detail);
    const fault = tokenFault(error);
    if (fault !== undefined) return refuse(fault.reason, source, undefined, fault.detail);
    throw error;
  }
}

function refuse(
  reason: UnauthorizedReason,
  tokenSource: TokenSource | undefined,
  userId?: string,
  detail?: string,
): Decision {
  return { outcome: 'refuse', reason, userId, tokenSource, detail };
}

/**
 * A socket must not outlive its token: the authorizer checks the token at `$connect` only, so every
 * frame checks its `exp` (passed on by the authorizer as `tokenExpiresAt`). A frame after it is refused
 * and its connection closed a moment later (connection-store.ts `requestClose`).
 */
import { requestClose } from '../adapters/connection-store.ts';
import { ForbiddenError } from './errors.ts';
import type { Caller } from './model.ts';

export async function requireUnexpiredToken(caller: Caller, connectionId: string, at: Date): Promise<void> {
  if (caller.tokenExpiresAt === undefined || at.getTime() < caller.tokenExpiresAt * 1000) return;
  await requestClose(caller.userId, connectionId, 'token_expired');
  throw new ForbiddenError('your token has expired: reconnect with a fresh one');
}

/**
 * Whether a verified token still stands: one strongly consistent BatchGetItem reads the user's state
 * item and, when the token has a `jti`, its revoked-token item, so a revocation an operator has just
 * written is already seen. A DynamoDB failure is thrown as it is: that is a 500 (we are broken), not a
 * 401 (the caller is not unauthorized).
 */

import { batchGetItems } from '../adapters/batch-get.ts';
import { type ItemKey, keys } from '../adapters/keys.ts';
import { toUserState } from '../adapters/user-directory.ts';
import type { TokenIdentity } from './identity.ts';

export type Standing = 'active' | 'token_revoked' | 'sessions_revoked' | 'deactivated';

type StoredItem = Record<string, unknown>;

export const REVOCATION_PROJECTION = 'PK, SK, deactivated, sessionsRevokedAt';

export async function standingOf(
  token: Pick<TokenIdentity, 'userId' | 'jti' | 'issuedAt'>,
): Promise<Standing> {
  const stateKey = keys.userState(token.userId);
  const revokedKey = token.jti === undefined ? undefined : keys.revokedToken(token.jti);
  const items = await batchGetItems(revokedKey === undefined ? [stateKey] : [stateKey, revokedKey], {
    consistent: true,
    projection: REVOCATION_PROJECTION,
  });

  // A revoked token learns nothing about the account, so its 401 comes before a deactivated 403.
  if (revokedKey !== undefined && items.some((item) => isItem(item, revokedKey))) return 'token_revoked';
  const state = toUserState(items.find((item) => isItem(item, stateKey)));
  if (state.sessionsRevokedAt !== undefined) {
    // Without `iat` nothing shows the token was issued after the revocation.
    if (token.issuedAt === undefined || token.issuedAt < state.sessionsRevokedAt) return 'sessions_revoked';
  }
  return state.deactivated ? 'deactivated' : 'active';
}

function isItem(item: StoredItem, key: ItemKey): boolean {
  return item.PK === key.PK && item.SK === key.SK;
}

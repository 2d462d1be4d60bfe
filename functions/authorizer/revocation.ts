/**
 * Whether a verified token still stands: one strongly consistent BatchGetItem reads the user's state
 * item and, when the token has a `jti`, its revoked-token item, so a revocation an operator has just
 * written is already seen. A DynamoDB failure is thrown as it is: that is a 500 (we are broken), not a
 * 401 (the caller is not unauthorized).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { type ItemKey, keys } from '../adapters/keys.ts';
import { toUserState } from '../adapters/user-directory.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import type { TokenIdentity } from './identity.ts';

export type Standing = 'active' | 'token_revoked' | 'sessions_revoked' | 'deactivated';

type StoredItem = Record<string, unknown>;

export const REVOCATION_PROJECTION = 'PK, SK, deactivated, sessionsRevokedAt';
/** Backoff before re-asking for keys DynamoDB left unprocessed (throttling); then give up with a 500. */
const UNPROCESSED_RETRY_DELAYS_MS = [25, 100, 250];

export async function standingOf(
  token: Pick<TokenIdentity, 'userId' | 'jti' | 'issuedAt'>,
): Promise<Standing> {
  const stateKey = keys.userState(token.userId);
  const revokedKey = token.jti === undefined ? undefined : keys.revokedToken(token.jti);
  const items = await batchGet(revokedKey === undefined ? [stateKey] : [stateKey, revokedKey]);

  // A revoked token learns nothing about the account, so its 401 comes before a deactivated 403.
  if (revokedKey !== undefined && items.some((item) => isItem(item, revokedKey))) return 'token_revoked';
  const state = toUserState(items.find((item) => isItem(item, stateKey)));
  if (state.sessionsRevokedAt !== undefined) {
    // Without `iat` nothing shows the token was issued after the revocation.
    if (token.issuedAt === undefined || token.issuedAt < state.sessionsRevokedAt) return 'sessions_revoked';
  }
  return state.deactivated ? 'deactivated' : 'active';
}

async function batchGet(wanted: ItemKey[]): Promise<StoredItem[]> {
  const found: StoredItem[] = [];
  let pending: ItemKey[] = wanted;
  for (const delay of [0, ...UNPROCESSED_RETRY_DELAYS_MS]) {
    if (delay > 0) await sleep(delay);
    const output = await dynamo.send(
      new BatchGetCommand({
        RequestItems: {
          [TABLE_NAME]: { Keys: pending, ConsistentRead: true, ProjectionExpression: REVOCATION_PROJECTION },
        },
      }),
    );
    found.push(...(output.Responses?.[TABLE_NAME] ?? []));
    const unprocessed = output.UnprocessedKeys?.[TABLE_NAME]?.Keys ?? [];
    if (unprocessed.length === 0) return found;
    pending = unprocessed.map((key) => ({ PK: String(key.PK), SK: String(key.SK) }));
  }
  throw new Error(`BatchGetItem left ${pending.length} key(s) unprocessed after retries`);
}

function isItem(item: StoredItem, key: ItemKey): boolean {
  return item.PK === key.PK && item.SK === key.SK;
}

/**
 * What operators do to a user's standing (protocol.md "Operations"): deactivate, reactivate, revoke all
 * sessions, revoke one token. The `$connect` authorizer refuses what these write from the next connect
 * on; the user's open connections that no longer stand are closed here and now (`DeleteConnection`:
 * API Gateway then runs `$disconnect`, which removes the item, and presence goes offline). Every
 * operation is idempotent, and logged with who asked, what and when (never a token).
 */
import { deleteConnection } from '../adapters/connection-store.ts';
import {
  openConnections,
  revokeJti,
  revokeSessionsBefore,
  setDeactivated,
  tokenUse,
} from '../adapters/user-state-store.ts';
import { closeConnection } from '../adapters/websocket-connections.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { logger } from '../shared/logger.ts';
import type { Connection } from './model.ts';

export interface OperationResult {
  operation: 'deactivate' | 'reactivate' | 'revokeSessions' | 'revokeToken';
  userId: string | undefined;
  jti?: string;
  /** Connections closed because they no longer stand. */
  closed: number;
  at: string;
}

/** How long a revoked token stays refused when no connection of it told us its `exp`. */
export const UNKNOWN_TOKEN_REVOCATION_SECONDS = 30 * 24 * 3600;

export async function deactivateUser(userId: string, by: string, now = new Date()): Promise<OperationResult> {
  await setDeactivated(userId, true, now.toISOString());
  const closed = await closeAll(await openConnections(userId));
  return done({ operation: 'deactivate', userId, closed, at: now.toISOString() }, by);
}

export async function reactivateUser(userId: string, by: string, now = new Date()): Promise<OperationResult> {
  await setDeactivated(userId, false, now.toISOString());
  return done({ operation: 'reactivate', userId, closed: 0, at: now.toISOString() }, by);
}

/**
 * Tokens issued before this second (`iat` is in whole seconds) are refused; a token issued earlier in
 * the same second still stands. Every open connection is closed: each was opened with such a token.
 */
export async function revokeSessions(userId: string, by: string, now = new Date()): Promise<OperationResult> {
  await revokeSessionsBefore(userId, Math.floor(now.getTime() / 1000), now.toISOString());
  const closed = await closeAll(await openConnections(userId));
  return done({ operation: 'revokeSessions', userId, closed, at: now.toISOString() }, by);
}

/**
 * Refuses one token until its own expiry (as `$connect` recorded it; without that record, for 30
 * days), and closes the connections opened with it.
 */
export async function revokeToken(jti: string, by: string, now = new Date()): Promise<OperationResult> {
  const use = await tokenUse(jti);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  await revokeJti(jti, use?.expiresAt ?? nowSeconds + UNKNOWN_TOKEN_REVOCATION_SECONDS, now.toISOString());
  const closed =
    use === undefined
      ? 0
      : await closeAll((await openConnections(use.userId)).filter((connection) => connection.jti === jti));
  return done({ operation: 'revokeToken', userId: use?.userId, jti, closed, at: now.toISOString() }, by);
}

/** Closes each connection and forgets its item (its `$disconnect` would too; this does not wait for it). */
async function closeAll(connections: Connection[]): Promise<number> {
  await mapConcurrently(connections, 16, async (connection) => {
    await closeConnection(connection.connectionId);
    await deleteConnection(connection.userId, connection.connectionId);
  });
  return connections.length;
}

function done(result: OperationResult, by: string): OperationResult {
  logger.info('operation applied', { ...result, by });
  return result;
}

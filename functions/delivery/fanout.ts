/**
 * Sends one frame to many connections, at most FANOUT_LIMITS.parallelism at a time. What a 410 means
 * depends on the connection's age: API Gateway answers 410 both for a closed connection and for one
 * whose `$connect` has not returned yet (its item is stored first). Only a connection older than the
 * `$connect` window is really gone and has its item deleted; a younger one is "connecting": delivery
 * tries it again shortly and, failing that, has the stream record retried, so the socket that opens a
 * moment later still gets the message. Other failures are returned, classified, for the caller.
 *
 * The window is short when the item says when `$connect` stored it (`storedAt`, its last step): a
 * socket lost right after connecting must not hold its user's deliveries (and push) for 30 s.
 */
import { failureClass } from '../adapters/aws-errors.ts';
import { deleteConnection } from '../adapters/connection-store.ts';
import { postToConnection } from '../adapters/websocket-connections.ts';
import type { ServerFrame } from '../domain/frames.ts';
import type { Connection } from '../domain/model.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { FANOUT_LIMITS, STORED_WINDOW_MS } from '../shared/config.ts';
import { logger } from '../shared/logger.ts';
import type { FanoutResult } from './delivery-report.ts';

/**
 * How long after its upgrade request a connection may still be inside `$connect`: API Gateway's
 * integration timeout (29 s) for the authorizer and the `$connect` route, rounded up.
 */
const CONNECT_WINDOW_MS = 30_000;

/** Waits before posting again to a connection still in `$connect` (which normally takes milliseconds). */
const CONNECTING_RETRY_DELAYS_MS = [100, 400, 1_000];

export interface FanoutOptions {
  /**
   * Try a connecting connection again after short waits (stored events, which must arrive). Typing,
   * being ephemeral, does not wait.
   */
  readonly waitForConnecting: boolean;
  readonly now?: number;
}

type PostOutcome = 'sent' | 'gone' | 'connecting';

/** One frame for all, or each connection's own (a message hidden from a member who blocks its sender). */
export type FrameFor = ServerFrame | ((connection: Connection) => ServerFrame);

export async function sendToConnections(
  connections: readonly Connection[],
  frame: FrameFor,
  options: FanoutOptions,
): Promise<FanoutResult> {
  const result: FanoutResult = { sent: 0, gone: 0, connecting: [], failures: [], reached: new Set() };
  const now = options.now ?? Date.now();
  await mapConcurrently(connections, FANOUT_LIMITS.parallelism, async (connection) => {
    try {
      const own = typeof frame === 'function' ? frame(connection) : frame;
      const outcome = await post(connection, own, options.waitForConnecting, now);
      if (outcome === 'sent') {
        result.sent += 1;
        result.reached.add(connection.userId);
      } else if (outcome === 'connecting') {
        result.connecting.push(connection);
      } else {
        result.gone += 1;
      }
    } catch (error) {
      const kind = failureClass(error);
      result.failures.push({ userId: connection.userId, connectionId: connection.connectionId, kind, error });
      logger.warn('post to connection failed', {
        targetConnectionId: connection.connectionId,
        failureClass: kind,
        error,
      });
    }
  });
  return result;
}

async function post(
  connection: Connection,
  frame: ServerFrame,
  waitForConnecting: boolean,
  now: number,
): Promise<PostOutcome> {
  if ((await postToConnection(connection.connectionId, frame)) === 'sent') return 'sent';
  if (!isConnecting(connection, now)) {
    logger.info('connection gone, removing it', { staleConnectionId: connection.connectionId });
    await deleteConnection(connection.userId, connection.connectionId);
    return 'gone';
  }
  if (waitForConnecting) {
    for (const delay of CONNECTING_RETRY_DELAYS_MS) {
      await sleep(delay);
      if ((await postToConnection(connection.connectionId, frame)) === 'sent') return 'sent';
    }
  }
  logger.info('connection still connecting, keeping it', { targetConnectionId: connection.connectionId });
  return 'connecting';
}

/**
 * Still inside the `$connect` window (a missing or unreadable time counts as old). The short window
 * after `storedAt`, STORED_WINDOW_MS, is configured (shared/config.ts).
 */
export function isConnecting(connection: Connection, now: number): boolean {
  const storedAt = connection.storedAt === undefined ? Number.NaN : Date.parse(connection.storedAt);
  if (Number.isFinite(storedAt)) return now - storedAt < STORED_WINDOW_MS;
  const connectedAt = Date.parse(connection.connectedAt);
  return Number.isFinite(connectedAt) && now - connectedAt < CONNECT_WINDOW_MS;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

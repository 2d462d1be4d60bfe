/**
 * Sends one frame to many connections at once. A 410 means the connection is gone: its item is
 * deleted (exactly that one) and it does not count as a failure. Other failures are returned so the
 * caller decides: typing drops them (ephemeral), delivery retries the stream record.
 */
import { deleteConnection } from '../adapters/connection-store.ts';
import { postToConnection } from '../adapters/management-api.ts';
import { logger } from '../shared/logger.ts';
import type { ServerFrame } from './frames.ts';
import type { Connection } from './model.ts';

export interface FanoutResult {
  sent: number;
  gone: number;
  failures: unknown[];
}

export async function sendToConnections(
  connections: readonly Connection[],
  frame: ServerFrame,
): Promise<FanoutResult> {
  const result: FanoutResult = { sent: 0, gone: 0, failures: [] };
  await Promise.all(
    connections.map(async (connection) => {
      try {
        if ((await postToConnection(connection.connectionId, frame)) === 'sent') {
          result.sent += 1;
          return;
        }
        result.gone += 1;
        logger.info('connection gone, removing it', { staleConnectionId: connection.connectionId });
        await deleteConnection(connection.userId, connection.connectionId);
      } catch (error) {
        result.failures.push(error);
        logger.warn('post to connection failed', { targetConnectionId: connection.connectionId, error });
      }
    }),
  );
  return result;
}

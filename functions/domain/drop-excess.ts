/**
 * Clean-up of what the per-user caps left out (fanout-caps.ts), done by message delivery: the connection
 * is closed (its client reconnects as the newest) and forgotten, the device registration removed with
 * its SNS endpoint. A user who really keeps more live sockets than the cap sees the oldest one closed.
 */
import { deleteConnection } from '../adapters/connection-store.ts';
import { closeConnection } from '../adapters/websocket-connections.ts';
import { logger } from '../shared/logger.ts';
import { removeDeadDevice } from './devices.ts';
import type { CappedUser } from './fanout-caps.ts';
import { FANOUT_LIMITS } from './fanout-limits.ts';

/** Best effort: a clean-up that fails is logged and tried again by the next message's delivery. */
export async function dropExcess(capped: readonly CappedUser[]): Promise<number> {
  const work: Promise<void>[] = [];
  for (const { droppedConnections, droppedDevices } of capped) {
    for (const connection of droppedConnections) {
      work.push(
        Promise.all([
          closeConnection(connection.connectionId),
          deleteConnection(connection.userId, connection.connectionId),
        ]).then(() => undefined),
      );
    }
    for (const device of droppedDevices) work.push(removeDeadDevice(device));
  }
  if (work.length === 0) return 0;
  const results = await Promise.allSettled(work);
  const failed = results.filter((result) => result.status === 'rejected').length;
  logger.warn('fan-out cap applied: dropped the oldest connections and devices', {
    dropped: work.length,
    failed,
    maxConnectionsPerUser: FANOUT_LIMITS.maxConnectionsPerUser,
    maxDevicesPerUser: FANOUT_LIMITS.maxDevicesPerUser,
  });
  return work.length;
}

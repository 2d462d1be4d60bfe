/**
 * The per-user caps on fan-out (FANOUT_LIMITS, shared/config.ts): delivery posts to a user's newest
 * connections and pushes to their most recently registered devices only. Every delivery, and typing,
 * respects them; message delivery also enforces them: what falls outside is dropped for good, so it
 * stops costing every later message.
 */
import { deleteConnection } from '../adapters/connection-store.ts';
import type { UserDirectoryEntry } from '../adapters/user-directory.ts';
import { closeConnection } from '../adapters/websocket-connections.ts';
import type { Connection, Device } from '../domain/model.ts';
import { FANOUT_LIMITS } from '../shared/config.ts';
import { logger } from '../shared/logger.ts';

export interface CappedUser {
  entry: UserDirectoryEntry;
  droppedConnections: Connection[];
  droppedDevices: Device[];
}

/** Newest first by an ISO timestamp (ISO 8601 UTC strings order like the instants they name). */
const newestFirst =
  <T>(timestamp: (item: T) => string) =>
  (a: T, b: T) =>
    timestamp(b).localeCompare(timestamp(a));

export function capUser(entry: UserDirectoryEntry): CappedUser {
  const connections = [...entry.connections].sort(newestFirst((c) => c.connectedAt));
  const devices = [...entry.devices].sort(newestFirst((d) => d.registeredAt));
  return {
    entry: {
      ...entry,
      connections: connections.slice(0, FANOUT_LIMITS.maxConnectionsPerUser),
      devices: devices.slice(0, FANOUT_LIMITS.maxDevicesPerUser),
    },
    droppedConnections: connections.slice(FANOUT_LIMITS.maxConnectionsPerUser),
    droppedDevices: devices.slice(FANOUT_LIMITS.maxDevicesPerUser),
  };
}

/**
 * Clean-up of what the caps left out, done by message delivery: the connection is closed (its client
 * reconnects as the newest) and forgotten, the device registration removed with its SNS endpoint (by
 * `removeDevice`, passed in: importing it here would load the SNS client in the typing function too).
 * A user who really keeps more live sockets than the cap sees the oldest one closed. Best effort: a
 * clean-up that fails is logged and tried again by the next message's delivery.
 */
export async function dropExcess(
  capped: readonly CappedUser[],
  removeDevice: (device: Device) => Promise<void>,
): Promise<number> {
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
    for (const device of droppedDevices) work.push(removeDevice(device));
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

/**
 * The per-user caps on fan-out (FANOUT_LIMITS): delivery posts to a user's newest connections and pushes
 * to their most recently registered devices only. What falls outside the cap is dropped for good, so it
 * stops costing every later message (see drop-excess.ts).
 */
import type { UserDirectoryEntry } from '../adapters/user-directory.ts';
import { FANOUT_LIMITS } from './fanout-limits.ts';
import type { Connection, Device } from './model.ts';

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

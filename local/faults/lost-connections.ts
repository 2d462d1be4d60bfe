/**
 * Connections lost as a network is lost: the TCP socket is cut with no close frame and API Gateway never
 * runs `$disconnect`, so the connection item stays in the table. That happens in AWS (a `$disconnect`
 * that failed or was throttled, a connection whose end API Gateway reports late), and it is what
 * delivery's 410 handling and the items' TTL are for: the next `PostToConnection` to it answers 410 and
 * delivery must delete the item. `/drop` (drop-route.ts) is the same cut with `$disconnect`.
 */
import type { WebSocket } from 'ws';
import type { Connection } from '../gateway/connections.ts';
import { localLog } from '../log.ts';

export type OpenConnection = Connection & { socket: WebSocket };

export class LostConnections {
  readonly #lost = new WeakSet<Connection>();

  /**
   * Cuts the socket and marks the connection so that the gateway skips `$disconnect`. Resolves once ws
   * has reported the close: the gateway has let go of it (`@connections` answers 410).
   */
  lose(connection: OpenConnection, why: string): Promise<void> {
    const { socket, upgrade, label } = connection;
    this.#lost.add(connection);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    localLog.info(`losing ${upgrade.connectionId} ${label} (${why}: no close frame, no $disconnect)`);
    socket.terminate();
    return closed;
  }

  /** Whether the gateway must forget this connection without running `$disconnect`. */
  wasLost(connection: Connection): boolean {
    return this.#lost.has(connection);
  }
}

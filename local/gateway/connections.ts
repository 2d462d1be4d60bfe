/**
 * The connections the local API Gateway holds, by connection id. A connection is `connecting` while its
 * `$connect` route runs (the management API answers 410 then, like AWS), `open` once the upgrade is
 * answered, and leaves the registry when it closes.
 */
import type { WebSocket } from 'ws';
import type { AuthorizerValues, UpgradeRequest } from './events.ts';

/** API Gateway's limit on one message, either way. */
export const MAX_MESSAGE_BYTES = 128 * 1024;

export interface Connection {
  readonly upgrade: UpgradeRequest;
  readonly authorizer: AuthorizerValues;
  /** Who the connection belongs to, for log lines. */
  readonly label: string;
  state: 'connecting' | 'open' | 'closed';
  socket: WebSocket | undefined;
  lastActiveAt: number;
  /** Set when the server closes the connection, so `$disconnect` reports the server's reason. */
  closeCause: { code: number; reason: string } | undefined;
}

export type PostResult = 'sent' | 'gone' | 'too_large';

export class ConnectionRegistry {
  readonly #connections = new Map<string, Connection>();

  add(connection: Connection): void {
    this.#connections.set(connection.upgrade.connectionId, connection);
  }

  remove(connectionId: string): void {
    this.#connections.delete(connectionId);
  }

  /** The open connection with this id, or undefined when it is unknown, still connecting or closed. */
  open(connectionId: string): (Connection & { socket: WebSocket }) | undefined {
    const connection = this.#connections.get(connectionId);
    if (connection?.state !== 'open' || connection.socket === undefined) return undefined;
    return connection as Connection & { socket: WebSocket };
  }

  all(): Connection[] {
    return [...this.#connections.values()];
  }

  /** PostToConnection: one text frame to the client. */
  post(connectionId: string, data: Buffer): PostResult {
    const connection = this.open(connectionId);
    if (connection === undefined) return 'gone';
    if (data.byteLength > MAX_MESSAGE_BYTES) return 'too_large';
    connection.socket.send(data, { binary: false });
    return 'sent';
  }

  /** Closes the connection the way API Gateway does for DeleteConnection or its own limits. */
  close(connectionId: string, code: number, reason: string): boolean {
    const connection = this.open(connectionId);
    if (connection === undefined) return false;
    closeConnection(connection, code, reason);
    return true;
  }
}

export function closeConnection(
  connection: Connection & { socket: WebSocket },
  code: number,
  reason: string,
): void {
  connection.closeCause ??= { code, reason };
  connection.socket.close(code, reason);
}

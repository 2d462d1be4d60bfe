/**
 * The platform's WebSocket, as little of it as every platform has: browsers, React Native / Expo,
 * Node.js 22+ (global `WebSocket`) and the `ws` package all offer this shape. Declared here rather
 * than taken from the DOM library so that the package's types work in any TypeScript project.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ readonly data: unknown }> | null;
  onerror: Handler<unknown> | null;
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * An event handler, checked bivariantly (as TypeScript checks methods), so that each platform's socket,
 * whose handlers take its own richer event types, is a WebSocketLike as it is: no cast in the app.
 */
type Handler<Event> = { bivariant(event: Event): void }['bivariant'];

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** How the token reaches the server (protocol.md, Connecting). */
export type TokenTransport = 'subprotocol' | 'query';

export const OPEN = 1;

export interface SocketAddress {
  readonly url: string;
  readonly protocols: string[] | undefined;
}

/**
 * The URL and subprotocols of one connection attempt. With `subprotocol` (the default) the token is
 * sent as `parley, {JWT}` and stays out of URLs and access logs.
 */
export function socketAddress(
  base: string,
  token: string,
  transport: TokenTransport,
  deviceId: string | undefined,
): SocketAddress {
  const url = new URL(base);
  if (deviceId !== undefined) url.searchParams.set('deviceId', deviceId);
  if (transport === 'query') url.searchParams.set('token', token);
  return { url: url.toString(), protocols: transport === 'subprotocol' ? ['parley', token] : undefined };
}

/**
 * The HTTP status of a refused upgrade, when the platform tells it: `ws` ("Unexpected server response:
 * 401") and React Native ("Expected HTTP 101 response but was '401 Unauthorized'") put it in the error
 * event's message. Browsers never expose it (undefined): the client then treats the refusal as a
 * network failure and fetches a fresh token for the next attempt.
 */
export function upgradeStatus(errorEvent: unknown): 401 | 403 | undefined {
  if (typeof errorEvent !== 'object' || errorEvent === null) return undefined;
  const { message, error } = errorEvent as { message?: unknown; error?: unknown };
  const texts = [message, error instanceof Error ? error.message : undefined];
  for (const text of texts) {
    if (typeof text !== 'string') continue;
    const status = /\b(40[13])\b/.exec(text)?.[1];
    if (status === '401') return 401;
    if (status === '403') return 403;
  }
  return undefined;
}

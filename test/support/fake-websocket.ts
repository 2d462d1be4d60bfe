/**
 * A WebSocket the SDK's unit tests drive by hand: the test opens it, refuses the upgrade with a status
 * (as the `ws` package reports it), delivers server frames, drops it, and reads what the client sent.
 */
import type { ClientFrame, ServerFrame, WebSocketLike } from '../../client/src/index.ts';

export class FakeWebSocket implements WebSocketLike {
  static readonly instances: FakeWebSocket[] = [];
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null = null;
  readonly sent: ClientFrame[] = [];
  closedByClient: { code: number | undefined; reason: string | undefined } | undefined;
  /** Answers `ping` with `pong`, as the server does; off to play a dead network. */
  autoPong = true;

  readonly url: string;
  readonly protocols: string | string[] | undefined;

  constructor(url: string, protocols?: string | string[]) {
    this.url = url;
    this.protocols = protocols;
    FakeWebSocket.instances.push(this);
  }

  static reset(): void {
    FakeWebSocket.instances.length = 0;
  }

  static get last(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1);
    if (socket === undefined) throw new Error('no socket was created');
    return socket;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    const frame = JSON.parse(data) as ClientFrame;
    this.sent.push(frame);
    if (frame.action === 'ping' && this.autoPong) queueMicrotask(() => this.receive({ type: 'pong' }));
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = 3;
  }

  // ---- the test's side ----

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** The upgrade is refused with an HTTP status, reported as `ws` does. */
  refuse(status: number): void {
    this.readyState = 3;
    this.onerror?.({ message: `Unexpected server response: ${status}` });
    this.onclose?.({ code: 1006, reason: '' });
  }

  /** A failure with no status (what a browser reports for any refused upgrade). */
  fail(): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: '' });
  }

  receive(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** Lost without a close frame. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  sentOf<A extends ClientFrame['action']>(action: A): Extract<ClientFrame, { action: A }>[] {
    return this.sent.filter((frame): frame is Extract<ClientFrame, { action: A }> => frame.action === action);
  }
}

/** An unsigned JWT with this `sub`: the client only reads `sub`; the server is not involved here. */
export function fakeToken(sub: string, serial = 0): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, jti: `t${serial}` })}.signature`;
}

/**
 * One logical connection to Parley over a series of sockets: connects with a fresh token, reconnects
 * with back-off after any loss, keeps a quiet socket alive with `ping`, notices a dead one (no answer to
 * a ping), and replaces a socket before API Gateway's 2-hour limit (make before break: the new socket
 * opens before the old one closes). Frames are passed on as they arrive; what to resend or fetch again
 * after an `open` is the client's business.
 */
import { Backoff, type BackoffOptions } from './backoff.ts';
import { Emitter } from './emitter.ts';
import type { CloseReason } from './errors.ts';
import { type ClientFrame, parseServerFrame, type ServerFrame } from './protocol.ts';
import {
  OPEN,
  socketAddress,
  type TokenTransport,
  upgradeStatus,
  type WebSocketConstructor,
  type WebSocketLike,
} from './socket.ts';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface StateChange {
  readonly state: ConnectionState;
  /** Why: the close code of a lost socket, a refusal, or a CloseReason when closed for good. */
  readonly reason?: string;
}

/**
 * Asked for a token before every connection attempt. `refresh` means the last attempt failed before it
 * opened (in browsers a 401 looks like that): do not hand back a cached token.
 */
export type TokenProvider = (why: 'connect' | 'refresh') => string | Promise<string>;

export interface ConnectionOptions {
  readonly url: string;
  readonly token: TokenProvider;
  readonly deviceId?: string;
  readonly WebSocket: WebSocketConstructor;
  readonly tokenTransport: TokenTransport;
  readonly backoff?: BackoffOptions;
  /** Send `ping` after this long without sending anything. Default 4 min (API Gateway closes at 10). */
  readonly pingIntervalMs?: number;
  /** A socket that answers nothing this long after a ping is dead. Default 10 s. */
  readonly pongTimeoutMs?: number;
  /** Replace the socket after this long. Default 110 min (API Gateway closes at 2 h). */
  readonly maxConnectionMs?: number;
  readonly random?: () => number;
}

export interface ConnectionEvents {
  state: (change: StateChange) => void;
  /** A socket opened (the first, a reconnect, or a planned replacement). */
  open: () => void;
  frame: (frame: ServerFrame) => void;
}

const DEFAULTS = { pingIntervalMs: 240_000, pongTimeoutMs: 10_000, maxConnectionMs: 110 * 60_000 };
/** A planned replacement that fails is tried again this much later (the old socket still works). */
const REPLACE_RETRY_MS = 60_000;

export class Connection extends Emitter<ConnectionEvents> {
  readonly #options: ConnectionOptions;
  readonly #backoff: Backoff;
  #state: ConnectionState = 'closed';
  #socket: WebSocketLike | undefined;
  /** The socket being opened to take over from #socket (planned replacement). */
  #replacement: WebSocketLike | undefined;
  #refreshToken = false;
  #stopped = true;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setTimeout> | undefined;
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  #stableTimer: ReturnType<typeof setTimeout> | undefined;
  #replaceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ConnectionOptions) {
    super();
    this.#options = options;
    this.#backoff = new Backoff(options.backoff, options.random);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#refreshToken = false;
    this.#setState('connecting');
    void this.#attempt();
  }

  stop(reason: CloseReason = 'closed_by_app'): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#clearTimers();
    for (const socket of [this.#socket, this.#replacement]) if (socket !== undefined) quietClose(socket);
    this.#socket = undefined;
    this.#replacement = undefined;
    this.#setState('closed', reason);
  }

  /** The app says the network is back: skip the back-off wait. */
  networkOnline(): void {
    if (this.#stopped || this.#state === 'open' || this.#reconnectTimer === undefined) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    void this.#attempt();
  }

  /** Sends on the open socket; false when there is none (the frame is the caller's to resend). */
  send(frame: ClientFrame): boolean {
    const socket = this.#socket;
    if (this.#state !== 'open' || socket === undefined || socket.readyState !== OPEN) return false;
    socket.send(JSON.stringify(frame));
    this.#armPing();
    return true;
  }

  async #attempt(replacing = false): Promise<void> {
    this.#reconnectTimer = undefined;
    const refresh = this.#refreshToken;
    let token: string;
    try {
      token = await this.#options.token(refresh ? 'refresh' : 'connect');
    } catch {
      if (replacing) return this.#retryReplacementLater();
      this.#refreshToken = true;
      return this.#scheduleReconnect('token_unavailable');
    }
    if (this.#stopped) return;
    const { url, protocols } = socketAddress(
      this.#options.url,
      token,
      this.#options.tokenTransport,
      this.#options.deviceId,
    );
    const socket = new this.#options.WebSocket(url, protocols);
    if (replacing) this.#replacement = socket;
    else this.#socket = socket;
    let opened = false;
    let refusal: unknown;
    socket.onopen = () => {
      opened = true;
      this.#refreshToken = false;
      this.#opened(socket);
    };
    socket.onmessage = ({ data }) => {
      if (typeof data !== 'string') return;
      this.#clearPongTimer();
      const frame = parseServerFrame(data);
      if (frame !== undefined) this.emit('frame', frame);
    };
    socket.onerror = (event) => {
      if (!opened) refusal = event;
    };
    socket.onclose = ({ code }) => {
      if (opened) this.#lost(socket, code);
      else this.#refused(socket, upgradeStatus(refusal), refresh, replacing);
    };
  }

  #opened(socket: WebSocketLike): void {
    if (this.#stopped) {
      quietClose(socket);
      return;
    }
    if (socket === this.#replacement) {
      const old = this.#socket;
      this.#socket = socket;
      this.#replacement = undefined;
      if (old !== undefined) quietClose(old, 1000, 'replaced');
    }
    this.#clearPongTimer();
    this.#setState('open');
    this.#armPing();
    clearTimeout(this.#stableTimer);
    this.#stableTimer = setTimeout(() => this.#backoff.reset(), this.#backoff.stableAfterMs);
    clearTimeout(this.#replaceTimer);
    this.#replaceTimer = setTimeout(
      () => this.#replace(),
      this.#options.maxConnectionMs ?? DEFAULTS.maxConnectionMs,
    );
    this.emit('open', undefined);
  }

  #lost(socket: WebSocketLike, code: number): void {
    if (socket !== this.#socket || this.#stopped) return;
    this.#socket = undefined;
    this.#clearTimers();
    if (this.#replacement !== undefined) {
      // A replacement was already being opened: it becomes the reconnect.
      this.#setState('reconnecting', `closed ${code}`);
      return;
    }
    this.#scheduleReconnect(`closed ${code}`);
  }

  #refused(
    socket: WebSocketLike,
    status: 401 | 403 | undefined,
    refreshed: boolean,
    replacing: boolean,
  ): void {
    if (this.#stopped) return;
    if (status === 403 || (status === 401 && refreshed)) {
      this.stop(status === 403 ? 'deactivated' : 'unauthorized');
      return;
    }
    if (replacing) {
      if (socket === this.#replacement) this.#replacement = undefined;
      if (this.#socket !== undefined) {
        this.#retryReplacementLater();
        return;
      }
    } else if (socket === this.#socket) {
      this.#socket = undefined;
    }
    this.#refreshToken = true;
    if (status === 401) {
      // One fresh token at once; a second 401 with it is final.
      this.#setState('reconnecting', 'unauthorized: fetching a fresh token');
      void this.#attempt();
      return;
    }
    this.#scheduleReconnect('could not connect');
  }

  #scheduleReconnect(reason: string): void {
    if (this.#stopped) return;
    this.#setState(this.#state === 'connecting' ? 'connecting' : 'reconnecting', reason);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#attempt(), this.#backoff.next());
  }

  #replace(): void {
    if (this.#stopped || this.#replacement !== undefined) return;
    void this.#attempt(true);
  }

  #retryReplacementLater(): void {
    if (this.#stopped) return;
    clearTimeout(this.#replaceTimer);
    this.#replaceTimer = setTimeout(() => this.#replace(), REPLACE_RETRY_MS);
  }

  #armPing(): void {
    clearTimeout(this.#pingTimer);
    this.#pingTimer = setTimeout(() => {
      if (!this.send({ action: 'ping' })) return;
      if (this.#pongTimer !== undefined) return;
      this.#pongTimer = setTimeout(() => {
        // No frame at all since the ping: the network is gone without a close (a lost Wi-Fi).
        this.#pongTimer = undefined;
        const socket = this.#socket;
        if (socket === undefined) return;
        quietClose(socket, 4000, 'no pong');
        this.#lost(socket, 1006);
      }, this.#options.pongTimeoutMs ?? DEFAULTS.pongTimeoutMs);
    }, this.#options.pingIntervalMs ?? DEFAULTS.pingIntervalMs);
  }

  #clearPongTimer(): void {
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
  }

  #clearTimers(): void {
    for (const timer of [this.#reconnectTimer, this.#pingTimer, this.#stableTimer, this.#replaceTimer]) {
      clearTimeout(timer);
    }
    this.#clearPongTimer();
    this.#reconnectTimer = undefined;
  }

  #setState(state: ConnectionState, reason?: string): void {
    if (state === this.#state && reason === undefined) return;
    this.#state = state;
    this.emit('state', reason === undefined ? { state } : { state, reason });
  }
}

/** Closes without caring what the socket does next: its handlers are detached first. */
function quietClose(socket: WebSocketLike, code = 1000, reason = 'closed by the client'): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onerror = null;
  socket.onclose = null;
  try {
    socket.close(code, reason);
  } catch {
    // Closing a socket that never opened may throw on some platforms; it is gone either way.
  }
}

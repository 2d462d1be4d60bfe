/**
 * Requests whose answer carries no id of the request (`sync` answers `messages` or `conversations`,
 * `markRead` answers `read`, `createConversation` answers `conversation`, `registerDevice` an `ack`
 * with its action): one at a time per channel, so an answer or an error naming the action belongs to
 * the request at the head. Every such request is safe to send twice, so one is sent again after a
 * reconnect, a timeout or an `internal` error, and after `rate_limited`'s `retryAfterMs`.
 */
import { ParleyError } from './errors.ts';
import type { ClientFrame, ErrorFrame, ServerFrame } from './protocol.ts';

export interface RequestSpec<T> {
  /** Requests that share a channel go one at a time. */
  readonly channel: string;
  readonly frame: ClientFrame;
  /** The answer, or undefined when the frame answers something else. */
  readonly answer: (frame: ServerFrame) => T | undefined;
  /** Whether an error frame is this request's (it names the action, or the request's id). */
  readonly isMine: (error: ErrorFrame) => boolean;
  /**
   * An error of this request that means it is done after all (a request sent again after its first
   * attempt succeeded unseen, say): the answer to resolve with, or undefined to treat it as an error.
   * `attempts` counts the sends so far.
   */
  readonly doneDespite?: (error: ErrorFrame, attempts: number) => T | undefined;
}

interface Pending<T> extends RequestSpec<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
  sent: boolean;
  attempts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export interface RequestQueueOptions {
  /** Sends on the open socket; false when there is none. */
  readonly send: (frame: ClientFrame) => boolean;
  /** An unanswered request is sent again after this long. Default 10 s. */
  readonly timeoutMs?: number;
  /** Sends of one request before it fails. Default 5. */
  readonly maxAttempts?: number;
}

const RETRY_AFTER_INTERNAL_MS = 1_000;

export class RequestQueue {
  readonly #options: RequestQueueOptions;
  readonly #channels = new Map<string, Pending<unknown>[]>();

  constructor(options: RequestQueueOptions) {
    this.#options = options;
  }

  request<T>(spec: RequestSpec<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending<T> = { ...spec, resolve, reject, sent: false, attempts: 0, timer: undefined };
      const queue = this.#channels.get(spec.channel) ?? [];
      this.#channels.set(spec.channel, queue);
      queue.push(pending as Pending<unknown>);
      if (queue.length === 1) this.#sendHead(spec.channel);
    });
  }

  /** A frame arrived: true when it answered a request (it may also matter to others). */
  onFrame(frame: ServerFrame): boolean {
    if (frame.type === 'error') return this.#onError(frame);
    for (const [channel, queue] of this.#channels) {
      const head = queue[0];
      if (head === undefined || !head.sent) continue;
      const value = head.answer(frame);
      if (value === undefined) continue;
      this.#finish(channel, () => head.resolve(value));
      return true;
    }
    return false;
  }

  /** A socket opened: what was sent on the old one is sent again. */
  onOpen(): void {
    for (const [channel, queue] of this.#channels) {
      const head = queue[0];
      if (head === undefined) continue;
      clearTimeout(head.timer);
      head.sent = false;
      this.#sendHead(channel);
    }
  }

  /** Fails every request (the client closed for good). */
  failAll(error: Error): void {
    for (const queue of this.#channels.values()) {
      for (const pending of queue.splice(0)) {
        clearTimeout(pending.timer);
        pending.reject(error);
      }
    }
  }

  #onError(error: ErrorFrame): boolean {
    for (const [channel, queue] of this.#channels) {
      const head = queue[0];
      if (head === undefined || !head.sent || !head.isMine(error)) continue;
      clearTimeout(head.timer);
      const done = head.doneDespite?.(error, head.attempts);
      if (done !== undefined) {
        this.#finish(channel, () => head.resolve(done));
        return true;
      }
      if (error.code === 'internal' || error.code === 'rate_limited') {
        head.sent = false;
        const wait = error.retryAfterMs ?? RETRY_AFTER_INTERNAL_MS;
        head.timer = setTimeout(() => this.#sendHead(channel), wait);
        if (head.attempts < (this.#options.maxAttempts ?? 5)) return true;
      }
      this.#finish(channel, () => head.reject(ParleyError.from(error)));
      return true;
    }
    return false;
  }

  #sendHead(channel: string): void {
    const head = this.#channels.get(channel)?.[0];
    if (head === undefined || head.sent) return;
    clearTimeout(head.timer);
    if (!this.#options.send(head.frame)) return; // sent again by onOpen
    head.sent = true;
    head.attempts += 1;
    head.timer = setTimeout(() => {
      head.sent = false;
      if (head.attempts >= (this.#options.maxAttempts ?? 5)) {
        this.#finish(channel, () => head.reject(new ParleyError('internal', 'no answer from the server')));
        return;
      }
      this.#sendHead(channel);
    }, this.#options.timeoutMs ?? 10_000);
  }

  #finish(channel: string, settle: () => void): void {
    const queue = this.#channels.get(channel);
    const head = queue?.shift();
    if (head !== undefined) clearTimeout(head.timer);
    settle();
    if (queue !== undefined && queue.length === 0) this.#channels.delete(channel);
    else this.#sendHead(channel);
  }
}

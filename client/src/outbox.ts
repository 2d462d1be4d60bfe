/**
 * Sends that the server has not acknowledged yet. Each is kept (in the client's storage, so across
 * app restarts) until its `ack`, and sent again with the same `clientMessageId` after a timeout, an
 * `internal` error or a reconnect, and after `rate_limited`'s `retryAfterMs`: the server commits a
 * `clientMessageId` once, so the user's message is stored exactly once whatever the network does.
 *
 * Order: each frame runs in its own Lambda, so two sends in flight into one conversation may commit in
 * either order. Sends into one conversation therefore go one at a time (the next as soon as the
 * previous is acknowledged), while different conversations go in parallel.
 */
import { ParleyError } from './errors.ts';
import type { AttachmentRef, ErrorFrame, Message, SendAckFrame, Target } from './protocol.ts';
import type { JsonSlot } from './storage.ts';

export interface PendingMessage {
  readonly clientMessageId: string;
  readonly target: Target;
  /** Known when the target is a conversation, or a user whose direct conversation is known. */
  readonly conversationId: string | undefined;
  readonly content: string;
  /**
   * Uploads attached (uploadAttachment's ids). Stored with the rest of the send, so a retry, after a
   * reconnect or a restart, sends the same attachments with the same `clientMessageId`.
   */
  readonly attachments?: readonly AttachmentRef[];
  /** When the app called send() (the device's clock). */
  readonly createdAt: string;
}

interface Entry {
  readonly pending: PendingMessage;
  sent: boolean;
  /** Internal errors answered in a row: the back-off before the next try. */
  failures: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve?: (message: Message | PromiseLike<Message>) => void;
  reject?: (error: Error) => void;
}

export interface OutboxOptions {
  readonly send: (pending: PendingMessage) => boolean;
  readonly slot: JsonSlot<PendingMessage[]> | undefined;
  /** An unacknowledged send is sent again after this long. Default 10 s. */
  readonly ackTimeoutMs?: number;
  /** Returns what the send's promise resolves with: the message, or a fuller copy of it to come. */
  readonly onSent: (
    pending: PendingMessage,
    message: Message,
    senderId: string,
  ) => Message | PromiseLike<Message>;
  readonly onFailed: (pending: PendingMessage, error: ParleyError) => void;
}

const MAX_INTERNAL_BACKOFF_MS = 30_000;

export class Outbox {
  readonly #options: OutboxOptions;
  /** Lane key → its sends, oldest first; the head is the one in flight. */
  readonly #lanes = new Map<string, Entry[]>();
  #slot: JsonSlot<PendingMessage[]> | undefined;

  constructor(options: OutboxOptions) {
    this.#options = options;
    this.#slot = options.slot;
  }

  /** Every unacknowledged send, oldest first within each conversation. */
  get pending(): PendingMessage[] {
    return [...this.#lanes.values()].flatMap((lane) => lane.map((entry) => entry.pending));
  }

  /** Persists from now on, and takes back what a previous run left (before anything added since). */
  async restore(slot: JsonSlot<PendingMessage[]>): Promise<PendingMessage[]> {
    this.#slot = slot;
    const stored = await slot.read([]);
    const known = new Set(this.pending.map((p) => p.clientMessageId));
    const restored = stored.filter((p) => !known.has(p.clientMessageId));
    for (const pending of restored.reverse()) {
      const lane = this.#lane(laneKey(pending));
      lane.unshift({ pending, sent: false, failures: 0, timer: undefined });
    }
    restored.reverse();
    await this.#persist();
    return restored;
  }

  add(pending: PendingMessage): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const lane = this.#lane(laneKey(pending));
      lane.push({ pending, sent: false, failures: 0, timer: undefined, resolve, reject });
      void this.#persist();
      if (lane.length === 1) this.#sendHead(laneKey(pending));
    });
  }

  /** A socket opened: every head is sent again (its ack may have gone with the old socket). */
  resume(): void {
    for (const [key, lane] of this.#lanes) {
      const head = lane[0];
      if (head === undefined) continue;
      if (head.failures > 0 && head.timer !== undefined) continue; // waiting out a back-off
      clearTimeout(head.timer);
      head.sent = false;
      this.#sendHead(key);
    }
  }

  onAck(ack: SendAckFrame, senderId: string): void {
    const found = this.#find(ack.clientMessageId);
    if (found === undefined) return; // a second ack of a send already settled
    const { key, lane, entry } = found;
    const message: Message = {
      conversationId: ack.conversationId,
      messageId: ack.messageId,
      seq: ack.seq,
      senderId,
      content: entry.pending.content,
      createdAt: ack.createdAt,
      clientMessageId: ack.clientMessageId,
    };
    this.#remove(key, lane, entry);
    const committed = this.#options.onSent(entry.pending, message, senderId);
    entry.resolve?.(committed);
  }

  /** An error naming one of our clientMessageIds: true when it was ours. */
  onError(error: ErrorFrame): boolean {
    if (error.clientMessageId === undefined) return false;
    const found = this.#find(error.clientMessageId);
    if (found === undefined) return false;
    const { key, lane, entry } = found;
    clearTimeout(entry.timer);
    entry.sent = false;
    if (error.code === 'rate_limited') {
      entry.timer = setTimeout(() => this.#sendHead(key), error.retryAfterMs ?? 1_000);
      return true;
    }
    if (error.code === 'internal') {
      entry.failures += 1;
      const delay = Math.min(MAX_INTERNAL_BACKOFF_MS, 500 * 2 ** entry.failures);
      entry.timer = setTimeout(() => {
        entry.timer = undefined;
        this.#sendHead(key);
      }, delay);
      return true;
    }
    // The frame itself is refused (forbidden, too_large, ...): sending it again cannot help.
    const failure = ParleyError.from(error);
    this.#remove(key, lane, entry);
    this.#options.onFailed(entry.pending, failure);
    entry.reject?.(failure);
    return true;
  }

  /** Fails every send still waiting (the client closed for good); the stored outbox stays for next time. */
  abandon(error: Error): void {
    for (const lane of this.#lanes.values()) {
      for (const entry of lane) {
        clearTimeout(entry.timer);
        entry.reject?.(error);
      }
    }
    this.#lanes.clear();
  }

  #sendHead(key: string): void {
    const head = this.#lanes.get(key)?.[0];
    if (head === undefined || head.sent) return;
    clearTimeout(head.timer);
    head.timer = undefined;
    if (!this.#options.send(head.pending)) return; // resume() sends it once a socket opens
    head.sent = true;
    head.timer = setTimeout(() => {
      head.sent = false;
      head.timer = undefined;
      this.#sendHead(key);
    }, this.#options.ackTimeoutMs ?? 10_000);
  }

  #remove(key: string, lane: Entry[], entry: Entry): void {
    clearTimeout(entry.timer);
    lane.splice(lane.indexOf(entry), 1);
    if (lane.length === 0) this.#lanes.delete(key);
    void this.#persist();
    this.#sendHead(key);
  }

  #find(clientMessageId: string): { key: string; lane: Entry[]; entry: Entry } | undefined {
    for (const [key, lane] of this.#lanes) {
      const entry = lane.find((e) => e.pending.clientMessageId === clientMessageId);
      if (entry !== undefined) return { key, lane, entry };
    }
    return undefined;
  }

  #lane(key: string): Entry[] {
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = [];
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  #persist(): Promise<void> {
    return this.#slot?.write(this.pending) ?? Promise.resolve();
  }
}

/** Sends to a user whose direct conversation is not known yet share a lane keyed by the user. */
function laneKey(pending: PendingMessage): string {
  if (pending.conversationId !== undefined) return `c:${pending.conversationId}`;
  return 'to' in pending.target ? `u:${pending.target.to}` : `c:${pending.target.conversationId}`;
}

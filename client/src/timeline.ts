/**
 * What the app has been given of one conversation: every message up to `held` (the highest contiguous
 * `seq`), and the ones that arrived early, kept until the gap before them is filled. `message` frames
 * are at-least-once and may overtake each other; this is where they become "each once, in order".
 */
import type { Message } from './protocol.ts';

export class Timeline {
  #held: number;
  readonly #early = new Map<number, Message>();

  constructor(held = 0) {
    this.#held = held;
  }

  /** The highest seq such that every message up to it has been handed to the app. */
  get held(): number {
    return this.#held;
  }

  /** True while a message past a gap waits: `sync` from `held` fills it. */
  get hasGap(): boolean {
    return this.#early.size > 0;
  }

  /**
   * Takes a message; returns those that may now be handed on, in seq order (none for a duplicate or
   * for one that arrived ahead of a gap).
   */
  accept(message: Message): Message[] {
    if (message.seq <= this.#held || this.#early.has(message.seq)) return [];
    if (message.seq > this.#held + 1) {
      this.#early.set(message.seq, message);
      return [];
    }
    const ready = [message];
    this.#held = message.seq;
    for (
      let next = this.#early.get(this.#held + 1);
      next !== undefined;
      next = this.#early.get(this.#held + 1)
    ) {
      this.#early.delete(next.seq);
      ready.push(next);
      this.#held = next.seq;
    }
    return ready;
  }
}

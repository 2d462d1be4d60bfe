/**
 * What the app has been given of one conversation: every message up to `held` (the highest contiguous
 * `seq`), and the ones that arrived early, kept until the gap before them is filled. `message` frames
 * are at-least-once and may overtake each other; this is where they become "each once, in order".
 *
 * It also keeps the messages handed on, in their current state: a `messageUpdated` (an edit, a
 * deletion, a reaction) is applied to the stored message, so that what the app holds after live
 * updates is what a `sync` would have given it (a synced message already carries `editedAt`,
 * `deleted` and `reactions`). An update of a message not handed on yet (it waits behind a gap, or the
 * update overtook the `message` frame) is kept and applied when the message is accepted: an update is
 * never older than the message's first delivery.
 */
import type { Message, MessageUpdatedFrame } from './protocol.ts';

export class Timeline {
  #held: number;
  readonly #early = new Map<number, Message>();
  /** Handed-on messages by seq, in their current state. */
  readonly #messages = new Map<number, Message>();
  /** Updates of seqs not handed on yet: the newest per seq. */
  readonly #updates = new Map<number, MessageUpdatedFrame>();

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
   * The messages handed on in this run, ascending seq, in their current state (those before a `held`
   * restored from storage were handed on in an earlier run and are not here).
   */
  get messages(): Message[] {
    return [...this.#messages.values()].sort((a, b) => a.seq - b.seq);
  }

  message(seq: number): Message | undefined {
    return this.#messages.get(seq);
  }

  /**
   * Takes a message; returns those that may now be handed on, in seq order (none for a duplicate or
   * for one that arrived ahead of a gap), with any update that arrived before them applied.
   */
  accept(message: Message): Message[] {
    if (message.seq <= this.#held || this.#early.has(message.seq)) return [];
    if (message.seq > this.#held + 1) {
      this.#early.set(message.seq, message);
      return [];
    }
    const ready = [this.#keep(message)];
    this.#held = message.seq;
    for (
      let next = this.#early.get(this.#held + 1);
      next !== undefined;
      next = this.#early.get(this.#held + 1)
    ) {
      this.#early.delete(next.seq);
      ready.push(this.#keep(next));
      this.#held = next.seq;
    }
    return ready;
  }

  /**
   * Applies an update; returns the message in its new state, or undefined when it is not held (kept
   * for when it arrives, or, for a seq handed on in an earlier run, nothing to apply it to).
   */
  update(frame: MessageUpdatedFrame): Message | undefined {
    const stored = this.#messages.get(frame.seq);
    if (stored === undefined) {
      const pending = this.#updates.get(frame.seq);
      if (frame.seq > this.#held && !isOlder(frame, pending)) this.#updates.set(frame.seq, frame);
      return undefined;
    }
    // Delivery is at least once: a retried batch can post an update older than one already applied.
    if (isOlder(frame, stored)) return stored;
    const updated = applyUpdate(stored, frame);
    this.#messages.set(frame.seq, updated);
    return updated;
  }

  #keep(message: Message): Message {
    const update = this.#updates.get(message.seq);
    this.#updates.delete(message.seq);
    const current = update === undefined || isOlder(update, message) ? message : applyUpdate(message, update);
    this.#messages.set(current.seq, current);
    return current;
  }
}

/** Whether `change` is from before `than` (both versioned, protocol 1.2); a 1.1 update is never older. */
export function isOlder(change: { version?: number }, than: { version?: number } | undefined): boolean {
  return change.version !== undefined && than?.version !== undefined && change.version < than.version;
}

/**
 * A message in the state an update describes, shaped as `sync` shapes it: `editedAt` once edited,
 * `deleted` (and no attachments, no reactions) once deleted, `reactions` while there are any.
 */
export function applyUpdate(message: Message, frame: MessageUpdatedFrame): Message {
  const { editedAt: _editedAt, deleted: _deleted, reactions: _reactions, attachments, ...base } = message;
  const reactions = Object.entries(frame.reactions).filter(([, users]) => users.length > 0);
  return {
    ...base,
    ...(frame.version !== undefined && { version: frame.version }),
    content: frame.content,
    ...(frame.deleted || attachments === undefined ? {} : { attachments }),
    ...(frame.editedAt === null ? {} : { editedAt: frame.editedAt }),
    ...(frame.deleted ? { deleted: true } : {}),
    ...(frame.deleted || reactions.length === 0 ? {} : { reactions: Object.fromEntries(reactions) }),
  };
}

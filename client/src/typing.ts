/**
 * Typing indicators both ways. Ours: keystrokes become at most one `start` every few seconds (the
 * server's `start` lapses after 5 s unless repeated) and one `stop` after the keyboard has been idle.
 * Theirs: who is typing in each conversation, until their `stop`, their message, or `expiresAt`.
 */
import type { Target, TypingFrame } from './protocol.ts';

/** A `start` is repeated this often while the user keeps typing (inside the server's 5 s lapse). */
export const TYPING_REPEAT_MS = 3_000;
/** No keystroke for this long sends `stop`. */
export const TYPING_IDLE_MS = 4_000;
/** A `start` whose `expiresAt` is unreadable or far off (a skewed clock) lapses after this. */
const FALLBACK_LAPSE_MS = 5_000;
const MAX_LAPSE_MS = 10_000;

interface Ours {
  lastStartAt: number;
  idleTimer: ReturnType<typeof setTimeout>;
}

export class TypingState {
  readonly #send: (target: Target, state: 'start' | 'stop') => void;
  readonly #onChange: (conversationId: string, userIds: readonly string[]) => void;
  readonly #ours = new Map<string, Ours>();
  /** conversationId → userId → the timer that lapses their indicator. */
  readonly #theirs = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();

  constructor(
    send: (target: Target, state: 'start' | 'stop') => void,
    onChange: (conversationId: string, userIds: readonly string[]) => void,
  ) {
    this.#send = send;
    this.#onChange = onChange;
  }

  keystroke(target: Target): void {
    const key = targetKey(target);
    const now = Date.now();
    const ours = this.#ours.get(key);
    if (ours !== undefined) clearTimeout(ours.idleTimer);
    const repeat = ours === undefined || now - ours.lastStartAt >= TYPING_REPEAT_MS;
    if (repeat) this.#send(target, 'start');
    this.#ours.set(key, {
      lastStartAt: repeat || ours === undefined ? now : ours.lastStartAt,
      idleTimer: setTimeout(() => this.stop(target), TYPING_IDLE_MS),
    });
  }

  /** The user sent, cleared the field or left: `stop`, if a `start` was sent. */
  stop(target: Target): void {
    const key = targetKey(target);
    const ours = this.#ours.get(key);
    if (ours === undefined) return;
    clearTimeout(ours.idleTimer);
    this.#ours.delete(key);
    this.#send(target, 'stop');
  }

  onFrame(frame: TypingFrame): void {
    if (frame.state === 'stop') {
      this.clear(frame.conversationId, frame.userId);
      return;
    }
    const users = this.#theirs.get(frame.conversationId) ?? new Map<string, ReturnType<typeof setTimeout>>();
    this.#theirs.set(frame.conversationId, users);
    const known = users.has(frame.userId);
    clearTimeout(users.get(frame.userId));
    users.set(
      frame.userId,
      setTimeout(() => this.clear(frame.conversationId, frame.userId), lapseMs(frame.expiresAt)),
    );
    if (!known) this.#onChange(frame.conversationId, [...users.keys()]);
  }

  /** Their indicator ends (a `stop`, a message from them, or its lapse). */
  clear(conversationId: string, userId: string): void {
    const users = this.#theirs.get(conversationId);
    const timer = users?.get(userId);
    if (users === undefined || timer === undefined) return;
    clearTimeout(timer);
    users.delete(userId);
    if (users.size === 0) this.#theirs.delete(conversationId);
    this.#onChange(conversationId, [...users.keys()]);
  }

  typingIn(conversationId: string): readonly string[] {
    return [...(this.#theirs.get(conversationId)?.keys() ?? [])];
  }

  dispose(): void {
    for (const ours of this.#ours.values()) clearTimeout(ours.idleTimer);
    for (const users of this.#theirs.values()) for (const timer of users.values()) clearTimeout(timer);
    this.#ours.clear();
    this.#theirs.clear();
  }
}

function lapseMs(expiresAt: string): number {
  const ms = Date.parse(expiresAt) - Date.now();
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_LAPSE_MS ? ms : FALLBACK_LAPSE_MS;
}

export function targetKey(target: Target): string {
  return 'to' in target ? `u:${target.to}` : `c:${target.conversationId}`;
}

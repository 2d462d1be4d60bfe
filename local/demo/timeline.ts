/**
 * What the demo's message pane shows for one conversation, without any DOM: the committed messages in
 * `seq` order, then the user's own sends still waiting for their `ack`, each with its mark. One entry
 * per (sender, clientMessageId), so a message the SDK hands over twice, or a send whose `ack` and
 * `message` both arrive, is shown once.
 */
import type { Attachment, Message, PendingMessage, Target } from '../../client/src/index.ts';

export type Mark = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';

export interface TimelineEntry {
  /** `{senderId}/{clientMessageId}`: the same before and after the `ack`. */
  readonly key: string;
  readonly senderId: string;
  readonly content: string;
  readonly createdAt: string;
  readonly seq: number | undefined;
  readonly mine: boolean;
  /** Only on the user's own messages. */
  readonly mark: Mark | undefined;
  readonly error: string | undefined;
  /** The conversation, once committed (what edits, deletions and reactions name). */
  readonly conversationId: string | undefined;
  readonly editedAt: string | undefined;
  readonly deleted: boolean;
  /** (1.2) From a user this user blocks: shown as such, without content. */
  readonly hidden: boolean;
  /** Emoji → who reacted. */
  readonly reactions: Readonly<Record<string, readonly string[]>>;
  readonly attachments: readonly Attachment[];
}

/** Other members' receipts in one conversation: user id → highest `seq`. */
export interface Receipts {
  readonly readBy: ReadonlyMap<string, number>;
  readonly deliveredTo: ReadonlyMap<string, number>;
}

/** Read once any other member read up to it, else delivered once a connection of one took it. */
export function markOf(seq: number, receipts: Receipts, me: string): Mark {
  const reached = (seqs: ReadonlyMap<string, number>) =>
    [...seqs].some(([userId, upTo]) => userId !== me && upTo >= seq);
  if (reached(receipts.readBy)) return 'read';
  if (reached(receipts.deliveredTo)) return 'delivered';
  return 'sent';
}

interface Unsent {
  readonly pending: PendingMessage;
  error: string | undefined;
}

export class MessageTimeline {
  readonly #me: string;
  readonly #committed = new Map<string, Map<number, Message>>();
  readonly #unsent = new Map<string, Unsent>();

  constructor(me: string) {
    this.#me = me;
  }

  /** A message the client holds in a new state (edited, deleted, reacted to): shown as it is now. */
  update(message: Message): void {
    if (this.#committed.get(message.conversationId)?.has(message.seq)) this.add(message);
  }

  add(message: Message): void {
    let bySeq = this.#committed.get(message.conversationId);
    if (bySeq === undefined) {
      bySeq = new Map();
      this.#committed.set(message.conversationId, bySeq);
    }
    bySeq.set(message.seq, message);
    if (message.senderId === this.#me) this.#unsent.delete(message.clientMessageId);
  }

  addPending(pending: PendingMessage): void {
    this.#unsent.set(pending.clientMessageId, { pending, error: undefined });
  }

  failed(pending: PendingMessage, error: string): void {
    const unsent = this.#unsent.get(pending.clientMessageId);
    if (unsent !== undefined) unsent.error = error;
  }

  /** The highest `seq` held in a conversation: what reading it up to its end marks read. */
  lastSeq(conversationId: string): number {
    let last = 0;
    for (const seq of this.#committed.get(conversationId)?.keys() ?? []) last = Math.max(last, seq);
    return last;
  }

  /** What to show for a conversation, or for a direct conversation not created yet (`{ to }`). */
  entries(target: Target, receipts: Receipts): TimelineEntry[] {
    const conversationId = 'conversationId' in target ? target.conversationId : undefined;
    const committed = [
      ...(conversationId === undefined ? [] : (this.#committed.get(conversationId)?.values() ?? [])),
    ]
      .sort((a, b) => a.seq - b.seq)
      .map((message): TimelineEntry => {
        const mine = message.senderId === this.#me;
        return {
          key: `${message.senderId}/${message.clientMessageId}`,
          senderId: message.senderId,
          content: message.content,
          createdAt: message.createdAt,
          seq: message.seq,
          mine,
          mark: mine ? markOf(message.seq, receipts, this.#me) : undefined,
          error: undefined,
          conversationId: message.conversationId,
          editedAt: message.editedAt,
          deleted: message.deleted === true,
          hidden: message.hidden === true,
          reactions: message.reactions ?? {},
          attachments: message.attachments ?? [],
        };
      });
    const shown = new Set(committed.map((entry) => entry.key));
    const unsent = [...this.#unsent.values()]
      .filter(
        ({ pending }) => sameTarget(pending, target) && !shown.has(`${this.#me}/${pending.clientMessageId}`),
      )
      .sort((a, b) => a.pending.createdAt.localeCompare(b.pending.createdAt))
      .map(
        ({ pending, error }): TimelineEntry => ({
          key: `${this.#me}/${pending.clientMessageId}`,
          senderId: this.#me,
          content: pending.content,
          createdAt: pending.createdAt,
          seq: undefined,
          mine: true,
          mark: error === undefined ? 'pending' : 'failed',
          error,
          conversationId: pending.conversationId,
          editedAt: undefined,
          deleted: false,
          hidden: false,
          reactions: {},
          attachments: [],
        }),
      );
    return [...committed, ...unsent];
  }
}

function sameTarget(pending: PendingMessage, target: Target): boolean {
  if ('conversationId' in target) return pending.conversationId === target.conversationId;
  return 'to' in pending.target && pending.target.to === target.to;
}

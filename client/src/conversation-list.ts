/**
 * The conversation list as the app shows it: the server's list (`sync` without `conversationId`), kept
 * current between fetches by what arrives — a message moves its conversation to the top, a `read` of
 * ours or a message of ours moves our read position, a new conversation appears, a message request
 * (1.2) stops being one once the user accepts it or writes in it.
 *
 * Unread follows the server's rule (protocol.md 1.2): sending reads what came before, so every
 * message above our read position is someone else's, and the count is `lastSeq − readSeq`, whatever
 * order frames arrive in and whether a read was partial.
 *
 * Order: the server lists the latest changed first (a read or a receipt moves an entry too), which is
 * not what the app shows. A fetch orders what it read by `lastMessage.createdAt`, newest first; an entry
 * without a last message stays right after the entry before it in server order (see byActivity).
 */
import type { Conversation, ConversationSummary, Message, ReadFrame } from './protocol.ts';

interface Entry {
  summary: ConversationSummary;
  /**
   * The entry as the server last listed it. A later fetch compares with this rather than with
   * `summary`: frames applied since may match the server's entry while a change missed offline sits
   * behind it in the server's order, and stopping there would lose that change.
   */
  listed?: ConversationSummary;
}

const unreadOf = (lastSeq: number, readSeq: number): number => Math.max(0, lastSeq - readSeq);

export class ConversationList {
  readonly #entries = new Map<string, Entry>();
  /** Conversation ids, newest activity first. */
  #order: string[] = [];
  #complete = false;

  /** A full fetch (every page) has been applied: later fetches may stop at a page held unchanged. */
  get complete(): boolean {
    return this.#complete;
  }

  get summaries(): readonly ConversationSummary[] {
    return this.#order.flatMap((id) => {
      const entry = this.#entries.get(id);
      return entry === undefined ? [] : [entry.summary];
    });
  }

  get(conversationId: string): ConversationSummary | undefined {
    return this.#entries.get(conversationId)?.summary;
  }

  /** Every page of the server's list: what is not in it is gone. */
  replace(summaries: readonly ConversationSummary[]): void {
    this.#entries.clear();
    this.#order = byActivity(this.#upsert(summaries));
    this.#complete = true;
  }

  /** The first pages of the server's list: these entries are upserted, the others stay as they were. */
  merge(summaries: readonly ConversationSummary[]): void {
    const read = this.#upsert(summaries);
    const ids = new Set(read.map((summary) => summary.conversationId));
    const rest = this.#order
      .filter((id) => !ids.has(id))
      .flatMap((id) => this.#entries.get(id)?.summary ?? []);
    this.#order = byActivity([...read, ...rest]);
  }

  /**
   * An entry that changed while the client paged comes again on a later page: the later copy wins, at
   * the first one's place. Returns the entries once each.
   */
  #upsert(summaries: readonly ConversationSummary[]): ConversationSummary[] {
    const latest = new Map(summaries.map((summary) => [summary.conversationId, summary]));
    for (const [conversationId, summary] of latest)
      this.#entries.set(conversationId, { summary, listed: summary });
    return [...latest.values()];
  }

  /** The server lists this entry as it did last time, `presence` aside (it does not move entries). */
  unchanged(summary: ConversationSummary): boolean {
    const listed = this.#entries.get(summary.conversationId)?.listed;
    return listed !== undefined && sameBesidesPresence(listed, summary);
  }

  /** A conversation frame: known now, at the top (it is new, or its members changed). */
  onConversation(conversation: Conversation): void {
    const entry = this.#entries.get(conversation.conversationId);
    const summary: ConversationSummary = entry
      ? { ...entry.summary, members: conversation.members, title: conversation.title }
      : {
          conversationId: conversation.conversationId,
          kind: conversation.kind,
          members: conversation.members,
          title: conversation.title,
          lastSeq: 0,
          readSeq: 0,
          unread: 0,
          lastMessage: null,
        };
    this.#entries.set(conversation.conversationId, { summary });
    if (entry === undefined) this.#toTop(conversation.conversationId);
  }

  /** False when the conversation is not in the list (the caller fetches the list again). */
  onMessage(message: Message, me: string | undefined): boolean {
    const entry = this.#entries.get(message.conversationId);
    if (entry === undefined) return false;
    const { summary } = entry;
    const newer = message.seq > summary.lastSeq;
    const lastSeq = Math.max(summary.lastSeq, message.seq);
    const mine = message.senderId === me;
    // Our own message: we read everything up to it, and writing in a request accepts it.
    const readSeq = mine ? Math.max(summary.readSeq, message.seq) : summary.readSeq;
    entry.summary = {
      ...(mine ? notRequest(summary) : summary),
      lastSeq,
      readSeq,
      lastMessage: newer ? message : summary.lastMessage,
      unread: unreadOf(lastSeq, readSeq),
    };
    if (newer) this.#toTop(message.conversationId);
    return true;
  }

  /** A message changed (edit, deletion, reaction): the preview follows when it is the last one. */
  onMessageChanged(message: Message): void {
    const entry = this.#entries.get(message.conversationId);
    if (entry === undefined || entry.summary.lastMessage?.seq !== message.seq) return;
    entry.summary = { ...entry.summary, lastMessage: message };
  }

  /**
   * (1.2) The user accepted a message request (acceptRequest, or a message of theirs acked): it is no
   * longer one. False when the entry was not a request.
   */
  accept(conversationId: string): boolean {
    const entry = this.#entries.get(conversationId);
    if (entry?.summary.request !== true) return false;
    entry.summary = notRequest(entry.summary);
    return true;
  }

  /** Left (leaveConversation), or no longer a member: gone from the list until the server lists it again. */
  remove(conversationId: string): boolean {
    if (!this.#entries.delete(conversationId)) return false;
    this.#order = this.#order.filter((id) => id !== conversationId);
    return true;
  }

  onRead(read: ReadFrame, me: string | undefined): void {
    const entry = this.#entries.get(read.conversationId);
    if (entry === undefined || read.userId !== me || read.seq <= entry.summary.readSeq) return;
    const { summary } = entry;
    entry.summary = { ...summary, readSeq: read.seq, unread: unreadOf(summary.lastSeq, read.seq) };
  }

  #toTop(conversationId: string): void {
    this.#order = [conversationId, ...this.#order.filter((id) => id !== conversationId)];
  }
}

/** The entry without `request`: the server leaves the field out rather than sending false. */
function notRequest(summary: ConversationSummary): ConversationSummary {
  const { request: _, ...rest } = summary;
  return rest;
}

/**
 * Ids newest activity first: by `lastMessage.createdAt`; an entry without one takes the time of the
 * entry before it in `serverOrder` (the newest, for the first), and ties keep `serverOrder`.
 */
function byActivity(serverOrder: readonly ConversationSummary[]): string[] {
  let previous = Number.POSITIVE_INFINITY;
  const keyed: { id: string; at: number; index: number }[] = [];
  for (const summary of serverOrder) {
    const at = summary.lastMessage === null ? Number.NaN : Date.parse(summary.lastMessage.createdAt);
    if (!Number.isNaN(at)) previous = at;
    keyed.push({ id: summary.conversationId, at: previous, index: keyed.length });
  }
  // Two infinities subtract to NaN, which is falsy: server order decides.
  keyed.sort((a, b) => b.at - a.at || a.index - b.index);
  return keyed.map(({ id }) => id);
}

/**
 * `presence` aside (it does not move entries), and the download links of `lastMessage`'s attachments
 * (signed afresh for every page: a new link is not a change).
 */
function sameBesidesPresence(a: ConversationSummary, b: ConversationSummary): boolean {
  const { presence: _a, ...restA } = a;
  const { presence: _b, ...restB } = b;
  return deepEqual(withoutLinks(restA), withoutLinks(restB));
}

function withoutLinks<T extends { lastMessage?: unknown }>(entry: T): T {
  const last = entry.lastMessage as { attachments?: Record<string, unknown>[] } | null | undefined;
  if (last?.attachments === undefined) return entry;
  const attachments = last.attachments.map(({ url: _url, expiresAt: _expiresAt, ...rest }) => rest);
  return { ...entry, lastMessage: { ...last, attachments } };
}

/** JSON values: arrays in order, objects whatever their key order (a key set to undefined is absent). */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((value, index) => deepEqual(value, b[index]))
    );
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x).filter((key) => x[key] !== undefined);
  return (
    keys.length === Object.keys(y).filter((key) => y[key] !== undefined).length &&
    keys.every((key) => deepEqual(x[key], y[key]))
  );
}

/**
 * The conversation list as the app shows it: the server's list (`sync` without `conversationId`), kept
 * current between fetches by what arrives — a message moves its conversation to the top, a `read` of
 * ours or a message of ours moves our read position, a new conversation appears.
 *
 * Unread follows the server's rule (protocol.md 1.2): sending reads what came before, so every
 * message above our read position is someone else's, and the count is `lastSeq − readSeq`, whatever
 * order frames arrive in and whether a read was partial.
 */
import type { Conversation, ConversationSummary, Message, ReadFrame } from './protocol.ts';

interface Entry {
  summary: ConversationSummary;
}

const unreadOf = (lastSeq: number, readSeq: number): number => Math.max(0, lastSeq - readSeq);

export class ConversationList {
  readonly #entries = new Map<string, Entry>();
  /** Conversation ids, newest activity first. */
  #order: string[] = [];

  get summaries(): readonly ConversationSummary[] {
    return this.#order.flatMap((id) => {
      const entry = this.#entries.get(id);
      return entry === undefined ? [] : [entry.summary];
    });
  }

  get(conversationId: string): ConversationSummary | undefined {
    return this.#entries.get(conversationId)?.summary;
  }

  replace(summaries: readonly ConversationSummary[]): void {
    this.#entries.clear();
    for (const summary of summaries) this.#entries.set(summary.conversationId, { summary });
    this.#order = summaries.map((s) => s.conversationId);
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
    // Our own message: we read everything up to it.
    const readSeq = message.senderId === me ? Math.max(summary.readSeq, message.seq) : summary.readSeq;
    entry.summary = {
      ...summary,
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

/** One entry of a user's conversation list as stored (adapters/list-entries.ts), and its order. */
import type { StoredMessage } from './model.ts';

export interface ListEntry {
  conversationId: string;
  /** Whose entry it is. */
  userId: string;
  kind: 'direct' | 'group';
  members: string[];
  title: string | null;
  /** When anything the entry shows last changed (ISO 8601): the list's order. */
  changedAt: string;
  /** The index key: `changedAt`'s bucket. */
  listAt: string;
  /** The newest seq sent to this user by others. */
  lastSeq: number;
  readSeq: number;
  hiddenUntilSeq?: number;
  lastMessage: StoredMessage | undefined;
  /** The version of the newest change that was not a new message (0 before any). */
  changeVersion: number;
  /** (1.2) In a direct conversation: this user blocks the other one. */
  blocking?: boolean;
  /** (1.2) In a direct conversation: both users have written in it, so receipts and presence flow. */
  consented?: boolean;
  /** (1.2) Contact policy `requests`: the other user started it, and this one has not answered it. */
  request?: boolean;
  /** In a direct conversation: the other user, how far they read and received, and their presence. */
  peer?: {
    userId: string;
    readSeq: number;
    deliveredSeq: number;
    status?: 'online' | 'offline';
    lastSeen: string | null;
  };
}

/** A position in the list's order: newest change first, ties broken by conversation id. */
export interface ListPosition {
  changedAt: string;
  conversationId: string;
}

/** Negative when `a` comes first in the list. */
export function compareListOrder(a: ListPosition, b: ListPosition): number {
  if (a.changedAt !== b.changedAt) return a.changedAt > b.changedAt ? -1 : 1;
  if (a.conversationId === b.conversationId) return 0;
  return a.conversationId > b.conversationId ? -1 : 1;
}

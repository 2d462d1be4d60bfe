/**
 * The requests and answers of the server API (integration.md), and the messages as protocol.md's
 * `message` frame shapes them.
 */

/** `POST /v1/conversations`: two members make the direct conversation (the id clients derive), more a group. */
export interface CreateConversationInput {
  /** User ids: `[a, b]` for a direct conversation, or a group's members. */
  readonly members: readonly string[];
  /** A group's title (at most 200 characters). */
  readonly title?: string;
}

/** A created conversation (201), the same shape as protocol.md's `conversation` frame. */
export interface CreatedConversation {
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly members: readonly string[];
  /** A group's title; null for a direct conversation or a group without one. */
  readonly title: string | null;
  readonly createdAt: string;
}

/** `POST /v1/conversations/{id}/messages`. */
export interface SendMessageInput {
  /** Makes the send idempotent: a repeated id answers the first commit, with `duplicate: true`. */
  readonly clientMessageId: string;
  /** Plain text, 1–4000 characters after trimming. */
  readonly content: string;
  /** A member's id, or `'system'` (SYSTEM_SENDER): shown as a notice, never unread from a person. */
  readonly senderId: string;
}

/** A sent message (201), as `ack` answers it. */
export interface SentMessage {
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: number;
  /** The conversation's version at this message. */
  readonly version: number;
  readonly createdAt: string;
  /** True when this `clientMessageId` was already committed: the fields are those of the first commit. */
  readonly duplicate: boolean;
}

/**
 * `GET /v1/conversations/{id}/messages`, as `sync` answers it: `afterSeq` (new messages after that seq)
 * or `afterVersion` (every message changed after that version, in its current state), not both.
 */
export type ListMessagesQuery =
  | { readonly afterSeq?: number; readonly afterVersion?: never; readonly limit?: number }
  | { readonly afterVersion?: number; readonly afterSeq?: never; readonly limit?: number };

/** A page of history. */
export interface MessagePage {
  /** Ascending by `seq` (by `version` with `afterVersion`). */
  readonly messages: readonly Message[];
  /** More after this page: ask again from its last `seq` (or from `version`). */
  readonly hasMore: boolean;
  /** With `afterVersion`: the highest version in the page, or the one asked from when it is empty. */
  readonly version?: number;
}

/** A message, shaped like protocol.md's `message` frame. */
export interface Message {
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: number;
  /** A member's id, or `'system'`. */
  readonly senderId: string;
  /** `""` once deleted. */
  readonly content: string;
  readonly createdAt: string;
  readonly clientMessageId: string;
  /** The conversation's version at this message's latest change. */
  readonly version?: number;
  /** Short-lived download links; only on messages sent with attachments. */
  readonly attachments?: readonly Attachment[];
  /** Once edited. */
  readonly editedAt?: string;
  /** A tombstone: content `""`, no attachments, no reactions. */
  readonly deleted?: boolean;
  /** Who deleted it, when not its sender (`'moderator'`). */
  readonly deletedBy?: string;
  /** Emoji → the ids of the users who reacted with it. */
  readonly reactions?: Readonly<Record<string, readonly string[]>>;
  /** The user ids the message mentions. */
  readonly mentions?: readonly string[];
  /** The message this one answers. */
  readonly replyTo?: ReplyTo;
}

export interface Attachment {
  readonly attachmentId: string;
  readonly contentType: string;
  readonly size: number;
  readonly url: string;
  readonly expiresAt: string;
}

export interface ReplyTo {
  readonly seq: number;
  readonly senderId: string;
  /** The first 100 characters of that message as it was sent; `""` once it is deleted. */
  readonly preview: string;
  readonly deleted?: boolean;
}

/** `GET /v1/reports`: `'open'` for the queue still to handle. */
export interface ListReportsQuery {
  readonly status?: 'open' | 'resolved' | (string & {});
}

/** A report of the queue. The contract names these fields; the server may add more. */
export interface Report {
  readonly reportId: string;
  readonly status: 'open' | 'resolved' | (string & {});
  /** `spam`, `harassment`, `hate`, `sexual`, `violence`, `minor_safety`, `scam` or `other`. */
  readonly reason: string;
  readonly conversationId: string;
  readonly reporterId: string;
  readonly createdAt: string;
  /** The reported message, when one was. */
  readonly seq?: number;
  /** The reporter's note. */
  readonly note?: string;
  readonly [field: string]: unknown;
}

export interface ReportList {
  readonly reports: readonly Report[];
  readonly [field: string]: unknown;
}

/** `POST /v1/reports/{id}/resolve`. */
export interface ResolveReportInput {
  /** What was done, for the record. */
  readonly note?: string;
}

/** The small JSON object the other writes answer; the contract does not fix its fields. */
export type WriteAnswer = Readonly<Record<string, unknown>>;

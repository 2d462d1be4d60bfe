/**
 * The wire contract of protocol.md (version 1.1), as the client sees it: the frames it sends and the
 * frames it receives. Kept in this package (no import from the server's code) so that `@parley/client`
 * stands alone; test/unit/client/protocol-types.test.ts checks at compile time that it matches the
 * server's own frame types.
 */

export type ErrorCode =
  | 'bad_request'
  | 'unknown_action'
  | 'too_large'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  | 'payment_required'
  | 'blocked_content'
  | 'internal';

export type PushPlatform = 'apns' | 'apns_sandbox' | 'fcm';

/** Either a conversation, or a user: the direct conversation with them (created on first use). */
export type Target = { readonly conversationId: string } | { readonly to: string };

// ---- client → server ----------------------------------------------------------------------------

export type ClientFrame =
  | ({
      action: 'sendMessage';
      clientMessageId: string;
      content: string;
      attachments?: AttachmentRef[];
    } & TargetFields)
  | ({ action: 'typing'; state: 'start' | 'stop' } & TargetFields)
  | { action: 'markRead'; conversationId: string; seq: number }
  | { action: 'createConversation'; clientRequestId: string; members: string[]; title?: string }
  | {
      action: 'sync';
      conversationId?: string;
      afterSeq?: number;
      afterVersion?: number;
      limit?: number;
      cursor?: string;
    }
  | { action: 'registerDevice'; platform: PushPlatform; token: string }
  | { action: 'unregisterDevice' }
  | { action: 'ping' }
  | { action: 'editMessage'; conversationId: string; seq: number; content: string }
  | { action: 'deleteMessage'; conversationId: string; seq: number }
  | { action: 'react'; conversationId: string; seq: number; emoji: string; on: boolean }
  | { action: 'leaveConversation'; conversationId: string }
  | { action: 'block'; userId: string; on: boolean }
  | { action: 'listBlocks' }
  | { action: 'acceptRequest'; conversationId: string }
  | { action: 'requestUpload'; clientRequestId: string; contentType: UploadContentType; size: number }
  | {
      action: 'report';
      clientRequestId: string;
      conversationId: string;
      seq?: number;
      reason: ReportReason;
      note?: string;
    };

/** (1.2) Why a message or a conversation is reported (protocol.md `report`). */
export type ReportReason =
  | 'spam'
  | 'harassment'
  | 'hate'
  | 'sexual'
  | 'violence'
  | 'minor_safety'
  | 'scam'
  | 'other';

/** A completed upload of the sender's own, attached to `sendMessage` (up to 10). */
export interface AttachmentRef {
  readonly uploadId: string;
}

/** What `requestUpload` accepts (protocol.md), up to 25 MiB. */
export type UploadContentType =
  | 'image/jpeg'
  | 'image/png'
  | 'image/webp'
  | 'image/gif'
  | 'video/mp4'
  | 'audio/mp4'
  | 'application/pdf';

type TargetFields = { conversationId: string; to?: never } | { to: string; conversationId?: never };

// ---- server → client ----------------------------------------------------------------------------

/** A committed message, as `message` frames, `sync` pages and `lastMessage` carry it. */
export interface Message {
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: number;
  readonly senderId: string;
  readonly content: string;
  readonly createdAt: string;
  readonly clientMessageId: string;
  /** (1.2) The conversation's version at this message's latest change; absent from a 1.1 server. */
  readonly version?: number;
  /** Short-lived download links; only on messages sent with attachments. */
  readonly attachments?: readonly Attachment[];
  /** Once edited. */
  readonly editedAt?: string;
  /** A tombstone: content `""`, no attachments, no reactions. */
  readonly deleted?: boolean;
  /** Emoji → the ids of the users who reacted with it. */
  readonly reactions?: Readonly<Record<string, readonly string[]>>;
  /** (1.2) From a user this user blocks: content `""`, no attachments. Show "Message from a blocked user". */
  readonly hidden?: boolean;
}

export interface Attachment {
  readonly attachmentId: string;
  readonly contentType: string;
  readonly size: number;
  readonly url: string;
  readonly expiresAt: string;
}

export interface MessageFrame extends Message {
  readonly type: 'message';
}

export interface SendAckFrame {
  readonly type: 'ack';
  readonly action: 'sendMessage';
  readonly clientMessageId: string;
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: number;
  readonly createdAt: string;
  readonly duplicate: boolean;
}

export interface ActionAckFrame {
  readonly type: 'ack';
  readonly action:
    | 'registerDevice'
    | 'unregisterDevice'
    | 'react'
    | 'leaveConversation'
    | 'block'
    | 'acceptRequest';
}

/** (1.2) The answer to `report`: the report's id, the same for every retry of its `clientRequestId`. */
export interface ReportAckFrame {
  readonly type: 'ack';
  readonly action: 'report';
  readonly clientRequestId: string;
  readonly reportId: string;
}

export interface MessageChangeAckFrame {
  readonly type: 'ack';
  readonly action: 'editMessage' | 'deleteMessage';
  readonly seq: number;
}

/** A message was edited, deleted or reacted to: its current state. */
export interface MessageUpdatedFrame {
  readonly type: 'messageUpdated';
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: number;
  /** (1.2) The conversation's version at this change. */
  readonly version?: number;
  readonly content: string;
  readonly editedAt: string | null;
  readonly deleted: boolean;
  readonly reactions: Readonly<Record<string, readonly string[]>>;
  /** (1.2) From a user this user blocks: content `""`. */
  readonly hidden?: boolean;
}

/** A presigned upload: send the file with `method` to `url`, with `headers`, before `expiresAt`. */
export interface UploadFrame {
  readonly type: 'upload';
  readonly clientRequestId: string;
  readonly uploadId: string;
  readonly url: string;
  readonly method: 'PUT';
  readonly headers: Readonly<Record<string, string>>;
  readonly expiresAt: string;
}

export interface TypingFrame {
  readonly type: 'typing';
  readonly conversationId: string;
  readonly userId: string;
  readonly state: 'start' | 'stop';
  readonly expiresAt: string;
}

export interface PresenceFrame {
  readonly type: 'presence';
  readonly userId: string;
  readonly status: 'online' | 'offline';
  readonly lastSeen?: string;
}

export interface ReadFrame {
  readonly type: 'read';
  readonly conversationId: string;
  readonly userId: string;
  readonly seq: number;
  readonly readAt: string;
}

export interface DeliveredFrame {
  readonly type: 'delivered';
  readonly conversationId: string;
  /** The recipient. */
  readonly userId: string;
  readonly seq: number;
  readonly deliveredAt: string;
}

export interface Conversation {
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly members: readonly string[];
  readonly title: string | null;
  readonly createdAt: string;
}

export interface ConversationFrame extends Conversation {
  readonly type: 'conversation';
}

export interface MessagesFrame {
  readonly type: 'messages';
  readonly conversationId: string;
  readonly messages: readonly Message[];
  readonly hasMore: boolean;
  /** (1.2) With `afterVersion`: the highest version in the page (or the one asked from). */
  readonly version?: number;
}

/** (1.2) How far another member has read and received, as the list gives it. */
export interface Receipt {
  readonly userId: string;
  readonly readSeq: number;
  readonly deliveredSeq: number;
}

/** One entry of the conversation list. */
export interface ConversationSummary {
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly members: readonly string[];
  readonly title: string | null;
  /** The conversation's newest `seq` (0 before its first message). */
  readonly lastSeq: number;
  readonly readSeq: number;
  /** Messages from others after `readSeq`. */
  readonly unread: number;
  readonly lastMessage: Message | null;
  /** (1.2) The conversation's version: behind it, the SDK syncs by `afterVersion`. */
  readonly version?: number;
  /** (1.2) Every other member's read and delivery positions. */
  readonly receipts?: readonly Receipt[];
  /** (1.2) A direct conversation's other user, where presence flows. */
  readonly presence?: { readonly status: 'online' | 'offline'; readonly lastSeen: string | null };
  /** (1.2) A direct conversation whose other user this user blocks. */
  readonly blocked?: boolean;
  /**
   * (1.2) `true` on a message request: a direct conversation the other user started that this user has
   * neither written in nor accepted (contact policy `requests`). Absent otherwise.
   */
  readonly request?: boolean;
}

export interface ConversationsFrame {
  readonly type: 'conversations';
  readonly conversations: readonly ConversationSummary[];
  readonly nextCursor: string | null;
}

/**
 * (1.2) The user left the conversation (leaveConversation on any of their devices): drop it. A direct
 * conversation comes back with its next message.
 */
export interface LeftFrame {
  readonly type: 'left';
  readonly conversationId: string;
}

/** (1.2) The answer to `listBlocks`: the users this user blocks. */
export interface BlocksFrame {
  readonly type: 'blocks';
  readonly userIds: readonly string[];
}

export interface PongFrame {
  readonly type: 'pong';
}

export interface ErrorFrame {
  readonly type: 'error';
  readonly code: ErrorCode;
  readonly message: string;
  readonly action?: string;
  readonly clientMessageId?: string;
  readonly clientRequestId?: string;
  readonly retryAfterMs?: number;
}

export type ServerFrame =
  | MessageFrame
  | SendAckFrame
  | ActionAckFrame
  | MessageChangeAckFrame
  | ReportAckFrame
  | MessageUpdatedFrame
  | UploadFrame
  | TypingFrame
  | PresenceFrame
  | ReadFrame
  | DeliveredFrame
  | ConversationFrame
  | MessagesFrame
  | ConversationsFrame
  | PongFrame
  | LeftFrame
  | BlocksFrame
  | ErrorFrame;

const SERVER_TYPES: ReadonlySet<string> = new Set([
  'message',
  'ack',
  'typing',
  'presence',
  'read',
  'delivered',
  'conversation',
  'messages',
  'conversations',
  'pong',
  'error',
  'messageUpdated',
  'upload',
  'left',
  'blocks',
]);

/**
 * A received text frame as a ServerFrame, or undefined for anything else (not JSON, an unknown `type`:
 * a newer server's frame an older client ignores rather than fails on).
 */
export function parseServerFrame(data: string): ServerFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && SERVER_TYPES.has(type) ? (value as ServerFrame) : undefined;
}

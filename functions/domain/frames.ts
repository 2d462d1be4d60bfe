/**
 * Server → client frames of protocol.md: their types, and at the end the builders of the frames made
 * from stored items. Built by domain code and delivery, serialised by the adapters (route responses,
 * PostToConnection). Timestamps are ISO 8601 UTC with milliseconds.
 */
import type { ErrorCode } from '../../definitions/error-codes.ts';
import type { Conversation, StoredMessage } from './model.ts';
import { messageVersion } from './versions.ts';

/** A short-lived download link to one attachment of a message. */
export interface AttachmentView {
  attachmentId: string;
  contentType: string;
  size: number;
  url: string;
  expiresAt: string;
}

/** Emoji → the ids of the users who reacted with it (at most 50 distinct emoji per message). */
export type Reactions = Record<string, string[]>;

export interface MessageFrame {
  type: 'message';
  conversationId: string;
  messageId: string;
  seq: number;
  senderId: string;
  content: string;
  createdAt: string;
  clientMessageId: string;
  /** (1.2) The conversation's version at this message's latest change (functions/domain/versions.ts). */
  version: number;
  /** Only when the message has attachments, edits, a deletion or reactions (protocol.md 1.1). */
  attachments?: AttachmentView[];
  editedAt?: string;
  deleted?: boolean;
  reactions?: Reactions;
  /** (1.2) From a user the recipient blocks: `content` is `""` and there are no attachments. */
  hidden?: boolean;
}

/** A message was edited, deleted or reacted to: its current state, to every connection of every member. */
export interface MessageUpdatedFrame {
  type: 'messageUpdated';
  conversationId: string;
  messageId: string;
  seq: number;
  /** (1.2) The conversation's version at this change. */
  version: number;
  /** `""` once deleted. */
  content: string;
  editedAt: string | null;
  deleted: boolean;
  reactions: Reactions;
  /** (1.2) From a user the recipient blocks: `content` is `""`. */
  hidden?: boolean;
}

/** A presigned upload: the client sends the file with `method` to `url`, with `headers`, before `expiresAt`. */
export interface UploadFrame {
  type: 'upload';
  clientRequestId: string;
  uploadId: string;
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
  expiresAt: string;
}

export interface SendAckFrame {
  type: 'ack';
  action: 'sendMessage';
  clientMessageId: string;
  conversationId: string;
  messageId: string;
  seq: number;
  createdAt: string;
  duplicate: boolean;
}

export interface ActionAckFrame {
  type: 'ack';
  action: 'registerDevice' | 'unregisterDevice' | 'react' | 'leaveConversation' | 'block' | 'acceptRequest';
}

/** The answer to `editMessage` and `deleteMessage`. */
export interface MessageChangeAckFrame {
  type: 'ack';
  action: 'editMessage' | 'deleteMessage';
  seq: number;
}

/**
 * (1.2) The answer to `report`: the report's id (the same for every retry of one `clientRequestId`), and
 * the `clientRequestId`, so that a client with several reports in flight knows which one this answers.
 */
export interface ReportAckFrame {
  type: 'ack';
  action: 'report';
  clientRequestId: string;
  reportId: string;
}

export interface PresenceFrame {
  type: 'presence';
  userId: string;
  status: 'online' | 'offline';
  /** With `offline`: when the user's last connection closed. */
  lastSeen?: string;
}

export interface TypingFrame {
  type: 'typing';
  conversationId: string;
  userId: string;
  state: 'start' | 'stop';
  expiresAt: string;
}

/** A recipient's connection received the sender's messages up to `seq` (delivery receipts). */
export interface DeliveredFrame {
  type: 'delivered';
  conversationId: string;
  /** The recipient. */
  userId: string;
  seq: number;
  deliveredAt: string;
}

export interface ReadFrame {
  type: 'read';
  conversationId: string;
  userId: string;
  seq: number;
  readAt: string;
}

/** A conversation as its members learn of it: the answer to createConversation, and the stream's event. */
export interface ConversationFrame {
  type: 'conversation';
  conversationId: string;
  kind: 'direct' | 'group';
  members: string[];
  title: string | null;
  createdAt: string;
}

/** A message as `sync` pages (and `lastMessage`) carry it: the `message` frame's fields, without `type`. */
export type MessageView = Omit<MessageFrame, 'type'>;

export interface MessagesFrame {
  type: 'messages';
  conversationId: string;
  /** Ascending `seq`, gapless from `afterSeq + 1`; (1.2) with `afterVersion`, ascending `version`. */
  messages: MessageView[];
  hasMore: boolean;
  /** (1.2) With `afterVersion` only: the highest version in the page, or `afterVersion` when it is empty. */
  version?: number;
}

/** (1.2) One other member's read and delivery positions, in a conversation list entry. */
export interface Receipt {
  userId: string;
  readSeq: number;
  deliveredSeq: number;
}

/** (1.2) A contact's presence as the list carries it. */
export interface PresenceView {
  status: 'online' | 'offline';
  /** With `offline`: when their last connection closed (null when never seen). */
  lastSeen: string | null;
}

/** One entry of the conversation list (`sync` without `conversationId`). */
export interface ConversationSummary {
  conversationId: string;
  kind: 'direct' | 'group';
  members: string[];
  title: string | null;
  /** The conversation's newest `seq` (0 before its first message). */
  lastSeq: number;
  /** (1.2) The conversation's current version: sync by `afterVersion` when it is beyond what is held. */
  version: number;
  /** (1.2) How far each other member has read and received. */
  receipts: Receipt[];
  /** (1.2) On a direct conversation: the other user's presence now. */
  presence?: PresenceView;
  readSeq: number;
  /** Messages from others after `readSeq`. */
  unread: number;
  lastMessage: MessageView | null;
  /** (1.2) A direct conversation whose other user the caller blocks. */
  blocked?: boolean;
  /** (1.2) Contact policy `requests`: a direct conversation the other user started, not yet answered. */
  request?: boolean;
}

export interface ConversationsFrame {
  type: 'conversations';
  /** Newest activity first. */
  conversations: ConversationSummary[];
  nextCursor: string | null;
}

export interface PongFrame {
  type: 'pong';
}

export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  action?: string;
  clientMessageId?: string;
  clientRequestId?: string;
  retryAfterMs?: number;
}

/**
 * (1.2) The user left the conversation (leaveConversation, on any of their connections): every
 * connection of theirs drops it. For a direct conversation, until its next message brings it back.
 */
export interface LeftFrame {
  type: 'left';
  conversationId: string;
}

/** (1.2) The answer to `listBlocks`: the users the caller blocks. */
export interface BlocksFrame {
  type: 'blocks';
  userIds: string[];
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

/** The version a message carries: stored once it changed, its seq's until then. */
export const versionOf = (message: StoredMessage): number => message.version ?? messageVersion(message.seq);

/** A stored message as clients see it: the `message` frame's fields, and the same in `sync` pages. */
export function toMessageView(message: StoredMessage): MessageView {
  return {
    conversationId: message.conversationId,
    messageId: message.messageId,
    seq: message.seq,
    senderId: message.senderId,
    content: message.content,
    createdAt: message.createdAt,
    clientMessageId: message.clientMessageId,
    version: versionOf(message),
    ...(message.editedAt !== undefined && { editedAt: message.editedAt }),
    ...(message.deleted === true && { deleted: true }),
    // A tombstone keeps no reactions (the table removes them too; this holds in between).
    ...(message.deleted !== true &&
      message.reactions !== undefined &&
      Object.keys(message.reactions).length > 0 && { reactions: message.reactions }),
    ...(message.hidden === true && { hidden: true }),
  };
}

/** A message's current state after an edit, a deletion or a reaction. */
export const toMessageUpdatedFrame = (message: StoredMessage): MessageUpdatedFrame => ({
  type: 'messageUpdated',
  conversationId: message.conversationId,
  messageId: message.messageId,
  seq: message.seq,
  version: versionOf(message),
  content: message.deleted === true ? '' : message.content,
  editedAt: message.editedAt ?? null,
  deleted: message.deleted === true,
  reactions: message.deleted === true ? {} : (message.reactions ?? {}),
  ...(message.hidden === true && { hidden: true }),
});

/** The `conversation` frame: createConversation's answer, and what delivery posts on a conversation INSERT. */
export function toConversationFrame(conversation: Conversation): ConversationFrame {
  return {
    type: 'conversation',
    conversationId: conversation.conversationId,
    kind: conversation.kind,
    members: conversation.members,
    title: conversation.title,
    createdAt: conversation.createdAt,
  };
}

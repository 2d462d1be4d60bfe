/**
 * Server → client frames of protocol.md, as types. Built by domain code, serialised by the adapters
 * (route responses, PostToConnection). Timestamps are ISO 8601 UTC with milliseconds.
 */
import type { ErrorCode } from './errors.ts';

export interface MessageFrame {
  type: 'message';
  conversationId: string;
  messageId: string;
  seq: number;
  senderId: string;
  content: string;
  createdAt: string;
  clientMessageId: string;
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
  action: 'registerDevice' | 'unregisterDevice';
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
  /** Ascending `seq`, gapless from `afterSeq + 1`. */
  messages: MessageView[];
  hasMore: boolean;
}

/** One entry of the conversation list (`sync` without `conversationId`). */
export interface ConversationSummary {
  conversationId: string;
  kind: 'direct' | 'group';
  members: string[];
  title: string | null;
  /** The conversation's newest `seq` (0 before its first message). */
  lastSeq: number;
  readSeq: number;
  /** Messages from others after `readSeq`. */
  unread: number;
  lastMessage: MessageView | null;
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

export type ServerFrame =
  | MessageFrame
  | SendAckFrame
  | ActionAckFrame
  | TypingFrame
  | PresenceFrame
  | ReadFrame
  | DeliveredFrame
  | ConversationFrame
  | MessagesFrame
  | ConversationsFrame
  | PongFrame
  | ErrorFrame;

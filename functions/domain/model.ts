/** Parley's entities as the domain sees them, independent of how they are stored. */
import type { PushPlatform } from '../../definitions/push-platforms.ts';

/** A mobile push platform as protocol.md names it (definitions/push-platforms.ts). */
export type Platform = PushPlatform;

/** Who is calling, from the authorizer's context: no route reads the database to learn it. */
export interface Caller {
  userId: string;
  /** Display name from the token's `name` claim, or the user id. */
  name: string;
  /** The app install, from the `deviceId` query parameter; undefined when the client gave none. */
  deviceId: string | undefined;
  /** The connection's token: its `jti` and `exp` (epoch seconds), when it has them. */
  jti?: string;
  tokenExpiresAt?: number;
}

export interface Connection {
  connectionId: string;
  userId: string;
  deviceId: string | undefined;
  connectedAt: string;
  /**
   * When `$connect` stored the item, its last step: API Gateway opens the socket as soon as `$connect`
   * returns, so from a few seconds after this a 410 means gone (functions/delivery/fanout.ts). Absent on
   * items stored before it existed.
   */
  storedAt?: string;
  /** The token the connection was opened with, when it has a `jti` (revoking it closes the connection). */
  jti?: string;
}

export interface Device {
  userId: string;
  deviceId: string;
  platform: Platform;
  token: string;
  endpointArn: string;
  registeredAt: string;
}

export interface UserState {
  deactivated: boolean;
  /** Epoch seconds: tokens issued before this are refused ("revoke all sessions"). */
  sessionsRevokedAt: number | undefined;
  /** (1.2) The users this user blocks (at most 1000); absent when none. */
  blocks?: ReadonlySet<string>;
}

export interface Conversation {
  conversationId: string;
  kind: 'direct' | 'group';
  members: string[];
  title: string | null;
  createdAt: string;
  /**
   * (1.2) Where the conversation's changes stand (functions/domain/versions.ts): as read from the item.
   * A direct conversation remembered by a warm container (known-conversations.ts) keeps the values of
   * its first read: only a fresh read of the item (the conversation list's) is current.
   */
  changeSeq?: number;
  changeCount?: number;
}

export interface StoredMessage {
  conversationId: string;
  seq: number;
  messageId: string;
  senderId: string;
  content: string;
  createdAt: string;
  clientMessageId: string;
  /** The connection that sent it: delivery skips it (that connection got the `ack`). */
  originConnectionId: string | undefined;
  /** Set by the sender's last edit (functions/domain/message-changes.ts). */
  editedAt?: string;
  /** A tombstone: its content, reactions and attachments are gone, its `seq` stays. */
  deleted?: boolean;
  /** Emoji → user ids; absent or empty without reactions. */
  reactions?: Record<string, string[]>;
  /** Uploads attached at send time (functions/domain/attachments.ts). */
  attachments?: StoredAttachment[];
  /** Stored once the message changed (edit, deletion, reaction); before that its seq's (versions.ts). */
  version?: number;
  /**
   * (1.2) Never stored: the message as shown to a member who blocks its sender, without its content and
   * attachments (functions/domain/hidden-messages.ts).
   */
  hidden?: boolean;
}

/** An upload as a message keeps it: where it lies in the bucket and what it is. */
export interface StoredAttachment {
  attachmentId: string;
  /** The object's key in the attachments bucket. */
  key: string;
  contentType: string;
  size: number;
}

/** A member's read cursor and the newest `seq` sent to them by others (their unread = difference). */
export interface MemberCursor {
  conversationId: string;
  userId: string;
  readSeq: number;
  readAt: string | undefined;
  lastSeq: number;
  /** The newest seq that reached one of the member's connections (delivery receipts). */
  deliveredSeq?: number;
  /**
   * A direct conversation the member left (leaveConversation) stays out of their conversation list
   * until it has a message with a greater `seq` (functions/domain/leave-conversation.ts).
   */
  hiddenUntilSeq?: number;
  /** (1.2) In a direct conversation: this member blocks the other one (functions/domain/blocks.ts). */
  blocking?: boolean;
  /** (1.2) In a direct conversation: the other member blocks this one. */
  blockedByPeer?: boolean;
  /**
   * (1.2) In a direct conversation: this member has written in it or accepted its request, and the other
   * one has (consent).
   */
  sent?: boolean;
  peerSent?: boolean;
  /** In a direct conversation: the other member. */
  peer?: string;
  /**
   * (1.2) Contact policy `requests`: the other member started this direct conversation, and this one has
   * neither written in it nor accepted it yet.
   */
  request?: boolean;
}

/**
 * Every item's key in the one table (see definitions/table.ts and docs/design.md "Data model").
 * Partitions: `USER#{userId}` holds a user's connections, devices and state, so one Query finds
 * everything delivery needs about a recipient; `CONV#{conversationId}` holds the conversation, its
 * members and its messages in `seq` order. Ids never contain `#` in the positions that would make a
 * key ambiguous (user ids and clientMessageIds are validated against charsets without it; the other
 * ids sit at the end of their key).
 */
import { createHash } from 'node:crypto';

export interface ItemKey {
  PK: string;
  SK: string;
}

/** `type` attribute of every item; the stream filter (definitions/stream.ts) matches on it. */
export type ItemType =
  | 'connection'
  | 'device'
  | 'userState'
  | 'conversation'
  | 'member'
  | 'message'
  | 'sendReceipt'
  | 'createReceipt'
  | 'pushToken'
  | 'revokedToken'
  | 'pushReceipt'
  | 'deliveryAttempts'
  | 'rateBucket'
  | 'uploadQuota'
  | 'presence'
  | 'tokenUse'
  | 'upload'
  | 'report'
  | 'reportCopy'
  | 'blockedBy'
  | 'idempotency';

const SEQ_DIGITS = 12;

export const CONNECTION_PREFIX = 'CONN#';
export const DEVICE_PREFIX = 'DEVICE#';
export const MEMBER_PREFIX = 'MEMBER#';
export const MESSAGE_PREFIX = 'MSG#';

export const userPartition = (userId: string): string => `USER#${userId}`;
export const conversationPartition = (conversationId: string): string => `CONV#${conversationId}`;
export const blockedByPartition = (userId: string): string => `BLOCKEDBY#${userId}`;

export const keys = {
  connection: (userId: string, connectionId: string): ItemKey => ({
    PK: userPartition(userId),
    SK: `${CONNECTION_PREFIX}${connectionId}`,
  }),
  device: (userId: string, deviceId: string): ItemKey => ({
    PK: userPartition(userId),
    SK: `${DEVICE_PREFIX}${deviceId}`,
  }),
  userState: (userId: string): ItemKey => ({ PK: userPartition(userId), SK: 'STATE' }),
  /** The set of a user's open connections that presence counts (functions/adapters/presence-store.ts). */
  presence: (userId: string): ItemKey => ({ PK: userPartition(userId), SK: 'PRESENCE' }),
  conversation: (conversationId: string): ItemKey => ({
    PK: conversationPartition(conversationId),
    SK: 'META',
  }),
  member: (conversationId: string, userId: string): ItemKey => ({
    PK: conversationPartition(conversationId),
    SK: `${MEMBER_PREFIX}${userId}`,
  }),
  /** Zero-padded so that the sort key orders messages by `seq`. */
  message: (conversationId: string, seq: number): ItemKey => ({
    PK: conversationPartition(conversationId),
    SK: `${MESSAGE_PREFIX}${String(seq).padStart(SEQ_DIGITS, '0')}`,
  }),
  /** One per (sender, clientMessageId): its conditional put is what makes sendMessage idempotent. */
  sendReceipt: (senderId: string, clientMessageId: string): ItemKey => ({
    PK: `SENT#${senderId}#${clientMessageId}`,
    SK: 'SENT',
  }),
  /** One per (creator, clientRequestId): its conditional put is what makes createConversation idempotent. */
  createReceipt: (creatorId: string, clientRequestId: string): ItemKey => ({
    PK: `CREATED#${creatorId}#${clientRequestId}`,
    SK: 'CREATED',
  }),
  /** Which user/device currently holds a push token (hashed: tokens are long and sensitive). */
  pushToken: (platform: string, token: string): ItemKey => ({
    PK: `TOKEN#${platform}#${createHash('sha256').update(token).digest('base64url')}`,
    SK: 'TOKEN',
  }),
  revokedToken: (jti: string): ItemKey => ({ PK: `JTI#${jti}`, SK: 'JTI' }),
  /** Which user a token connected as (connection-store.ts), beside its revocation. */
  tokenUse: (jti: string): ItemKey => ({ PK: `JTI#${jti}`, SK: 'USE' }),
  /** One per (message, device) pushed: makes pushes at most once under stream retries. */
  pushReceipt: (conversationId: string, seq: number, userId: string, deviceId: string): ItemKey => ({
    PK: `PUSH#${conversationId}#${seq}`,
    SK: `DEVICE#${userId}#${deviceId}`,
  }),
  /** How often delivery has tried one stream record (by its `eventID`), kept only for records that failed. */
  deliveryAttempts: (eventId: string): ItemKey => ({ PK: `ATTEMPTS#${eventId}`, SK: 'ATTEMPTS' }),
  /** One requested upload (functions/adapters/upload-store.ts): its owner and what was declared. */
  upload: (uploadId: string): ItemKey => ({ PK: `UPLOAD#${uploadId}`, SK: 'UPLOAD' }),
  /** A user's rate bucket for one limited action (functions/adapters/rate-buckets.ts). */
  rateBucket: (userId: string, action: string): ItemKey => ({ PK: `RATE#${userId}`, SK: action }),
  /** (1.2) The server API's answer to one `Idempotency-Key` (functions/adapters/idempotency-store.ts). */
  idempotency: (key: string): ItemKey => ({ PK: `IDEMPOTENCY#${key}`, SK: 'ANSWER' }),
  /** The bytes of uploads a user asked for on one UTC day (`YYYY-MM-DD`), beside their rate buckets. */
  uploadQuota: (userId: string, day: string): ItemKey => ({
    PK: `RATE#${userId}`,
    SK: `UPLOAD_BYTES#${day}`,
  }),
  /**
   * (1.2) One report (functions/adapters/report-store.ts): its id is derived from (reporter,
   * clientRequestId), so the conditional put of this item is what makes `report` idempotent.
   */
  report: (reportId: string): ItemKey => ({ PK: `REPORT#${reportId}`, SK: 'REPORT' }),
  /** The copy of one reported message, beside its report, in `seq` order (keyed like the message). */
  reportCopy: (reportId: string, seq: number): ItemKey => ({
    PK: `REPORT#${reportId}`,
    SK: `${MESSAGE_PREFIX}${String(seq).padStart(SEQ_DIGITS, '0')}`,
  }),
  /**
   * (1.2) One per (blocked user, blocker): who blocks a user, read by delivery for that user's group
   * messages, reads and typing (block-store.ts). Its own partition, so that a user many block costs
   * nothing where their own partition is read.
   */
  blockedBy: (blockedId: string, blockerId: string): ItemKey => ({
    PK: blockedByPartition(blockedId),
    SK: blockerId,
  }),
};

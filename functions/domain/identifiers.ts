/**
 * Parley's identifiers (protocol.md "Identifiers"), in one place: the rules the ids clients give must
 * follow, for the authorizer (token `sub`, `deviceId`) and the frame schemas (`to`, `conversationId`,
 * `clientMessageId`), and the ids Parley makes itself (direct and group conversation ids, message ids).
 * Charsets and lengths are separate so a too-long id can be told from one with characters that are
 * not allowed (too_large vs bad_request). No charset allows `#`, which keeps ids safe inside DynamoDB
 * keys.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SYSTEM_SENDER } from '../../definitions/server-api.ts';

export const USER_ID_CHARS = /^[A-Za-z0-9_.:@-]+$/;
const DEVICE_ID_CHARS = /^[A-Za-z0-9_.:-]+$/;
/** User ids and device ids. */
export const MAX_ID_LENGTH = 64;

export const CLIENT_MESSAGE_ID_CHARS = /^[A-Za-z0-9_-]+$/;
export const MAX_CLIENT_MESSAGE_ID_LENGTH = 64;

/** Conversation ids are opaque to clients; any characters, up to this length. */
export const MAX_CONVERSATION_ID_LENGTH = 128;

const within = (value: string): boolean => value.length >= 1 && value.length <= MAX_ID_LENGTH;

/**
 * (1.2) Not a person's id: `system` sends the app backend's notices (integration.md). No token may
 * name it and no frame may address it.
 */
export const isReservedUserId = (value: string): boolean => value === SYSTEM_SENDER;

export const isUserId = (value: string): boolean =>
  within(value) && USER_ID_CHARS.test(value) && !isReservedUserId(value);
export const isDeviceId = (value: string): boolean => within(value) && DEVICE_ID_CHARS.test(value);

/**
 * The one id of the direct conversation between two users, whoever writes first: a hash of the
 * sorted pair (user ids may be 64 characters each, too long to join within the conversation id
 * limit, and every character they may contain could be part of an id, so no separator would be
 * unambiguous). The hash is not keyed, so anyone can compute the id of any pair: never answer
 * differently for a conversation that exists and one that does not (see membership.ts).
 */
/** Every direct conversation id starts with this; group ids start with `grp_`. */
export const DIRECT_ID_PREFIX = 'dm_';

export function directConversationId(userA: string, userB: string): string {
  const [first, second] = [userA, userB].sort();
  return `${DIRECT_ID_PREFIX}${createHash('sha256').update(`${first}\n${second}`).digest('base64url')}`;
}

/**
 * An upload's id, derived from (user, clientRequestId) so that a retried requestUpload names the same
 * upload without a receipt. Anyone who knows both can compute it, which gives them nothing: only its owner
 * can attach it (functions/domain/attachments.ts checks the owner).
 */
export function uploadIdFor(userId: string, clientRequestId: string): string {
  return `up_${createHash('sha256').update(`upload\n${userId}\n${clientRequestId}`).digest('base64url').slice(0, 32)}`;
}

/**
 * (1.2) A report's id, derived from (reporter, clientRequestId) like an upload's: a retried `report` names
 * the same report, and its item's conditional put keeps one. Only operators use report ids.
 */
export function reportIdFor(reporterId: string, clientRequestId: string): string {
  return `rp_${createHash('sha256').update(`report\n${reporterId}\n${clientRequestId}`).digest('base64url').slice(0, 32)}`;
}

/** The shape of reportIdFor's ids, for the operators' tools to refuse anything else before a read. */
export const REPORT_ID_PATTERN = /^rp_[A-Za-z0-9_-]{32}$/;

export function newMessageId(): string {
  return randomUUID();
}

/**
 * A new group's id: random, so that it says nothing about its members and cannot be guessed. Retries
 * of one `createConversation` agree on one id through its creation receipt, not through the id.
 */
export function newGroupConversationId(): string {
  return `grp_${randomUUID()}`;
}

/**
 * Conversation list cursors, `{listId}.{offset}.{mac}`: opaque to clients, tamper-proof for us. The MAC
 * (HMAC-SHA256 under the list's own random key, which is stored with the list and never leaves the
 * server; 128 bits of it) covers the user, the list and the position, so a cursor that was changed,
 * made up or taken from another user's answer is refused (`bad_request`). Another user's list is not
 * even found: lists are stored under their owner's id (adapters/keys.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ListPosition {
  listId: string;
  offset: number;
  mac: string;
}

const CURSOR = /^([A-Za-z0-9_-]{16})\.(0|[1-9]\d{0,6})\.([A-Za-z0-9_-]{22})$/;

/** The longest cursor this module makes: the page budget reserves room for it. */
export const MAX_CURSOR_LENGTH = 16 + 1 + 7 + 1 + 22;

export const newListId = (): string => randomBytes(12).toString('base64url');
export const newListKey = (): string => randomBytes(32).toString('base64url');

export function parseCursor(cursor: string): ListPosition | undefined {
  const match = CURSOR.exec(cursor);
  if (match === null) return undefined;
  const [, listId = '', offset = '', mac = ''] = match;
  return { listId, offset: Number(offset), mac };
}

export function signCursor(key: string, userId: string, listId: string, offset: number): string {
  return `${listId}.${offset}.${macOf(key, userId, listId, offset)}`;
}

export function verifyCursor(key: string, userId: string, position: ListPosition): boolean {
  const expected = Buffer.from(macOf(key, userId, position.listId, position.offset));
  const given = Buffer.from(position.mac);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function macOf(key: string, userId: string, listId: string, offset: number): string {
  return createHmac('sha256', Buffer.from(key, 'base64url'))
    .update(`${userId}\n${listId}\n${offset}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}

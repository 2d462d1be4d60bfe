/**
 * Conversation list cursors: where the previous page ended in the list's order (its last entry's
 * `changedAt` and conversation id) and when it was read, so that the next page also serves whatever
 * moved to the front meanwhile. Opaque to clients (base64url JSON). A cursor only ever positions the
 * caller in their own list; it names its user (by a hash), so that one taken from another user's answer
 * is refused rather than silently starting somewhere.
 */
import { createHash } from 'node:crypto';
import type { ListPosition } from './list-entry.ts';

export interface ListCursor extends ListPosition {
  /** When the page that made it was read (ISO 8601). */
  readAt: string;
}

/** The page budget reserves room for a cursor this long (ids of up to 128 characters). */
export const MAX_CURSOR_LENGTH = 400;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const userTag = (userId: string): string =>
  createHash('sha256').update(userId).digest('base64url').slice(0, 16);

export function encodeCursor(userId: string, cursor: ListCursor): string {
  const body = { u: userTag(userId), t: cursor.changedAt, c: cursor.conversationId, r: cursor.readAt };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** The cursor, or undefined when it is not one of this user's. */
export function decodeCursor(userId: string, text: string): ListCursor | undefined {
  if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { u, t, c, r } = body as Record<string, unknown>;
  if (u !== userTag(userId) || typeof c !== 'string' || c.length === 0 || c.length > 200) return undefined;
  if (typeof t !== 'string' || typeof r !== 'string' || !ISO.test(t) || !ISO.test(r)) return undefined;
  return { changedAt: t, conversationId: c, readAt: r };
}

import { createHash, randomUUID } from 'node:crypto';

/**
 * The one id of the direct conversation between two users, whoever writes first: a hash of the
 * sorted pair (user ids may be 64 characters each, too long to join within the 128-character limit,
 * and every character they may contain could be part of an id, so no separator would be unambiguous).
 */
export function directConversationId(userA: string, userB: string): string {
  const [first, second] = [userA, userB].sort();
  return `dm_${createHash('sha256').update(`${first}\n${second}`).digest('base64url')}`;
}

export function newMessageId(): string {
  return randomUUID();
}

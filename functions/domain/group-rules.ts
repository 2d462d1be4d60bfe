/**
 * What makes a group (protocol.md `createConversation`): its members and its title. Pure, so the frame
 * schemas can share the limits without pulling any adapter into every route's bundle.
 *
 * Members: the ids given, duplicates removed, the caller added when absent, then counted: a group has
 * 2–100 members including the caller. So `members: ["bob"]` from alice is the group {alice, bob}, and
 * 100 other users plus the caller is one too many. The list is stored and answered sorted, which makes
 * it the same whatever order a client named the members in.
 */
import { BadRequestError, TooLargeError } from './errors.ts';

export const MIN_GROUP_MEMBERS = 2;
export const MAX_GROUP_MEMBERS = 100;
/** Characters as people count them (code points), after trimming, like message content. */
export const MAX_TITLE_CHARACTERS = 200;

export function groupMembers(callerId: string, members: readonly string[]): string[] {
  const unique = [...new Set([callerId, ...members])].sort();
  if (unique.length < MIN_GROUP_MEMBERS) {
    throw new BadRequestError('members: name at least one user besides yourself');
  }
  if (unique.length > MAX_GROUP_MEMBERS) {
    throw new TooLargeError(`members: more than ${MAX_GROUP_MEMBERS} including yourself`);
  }
  return unique;
}

/** The title as stored: trimmed, null when none was given or it was blank. */
export function normalizeTitle(title: string | null | undefined): string | null {
  const trimmed = title?.trim() ?? '';
  if (trimmed === '') return null;
  if (Array.from(trimmed).length > MAX_TITLE_CHARACTERS) {
    throw new TooLargeError(`title: more than ${MAX_TITLE_CHARACTERS} characters`);
  }
  return trimmed;
}

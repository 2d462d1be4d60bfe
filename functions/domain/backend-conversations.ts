/**
 * Conversations the app's backend creates through the server API (integration.md, `POST
 * /v1/conversations`): on a match, for example. Accepted for every member: presence, typing and receipts
 * flow at once, and under the `requests` contact policy none of it is a request. The backend decides who
 * talks to whom, but not past the users' own choices: a deactivated member, or a direct conversation
 * between users one of whom blocks the other, is refused with words that name nobody.
 */
import {
  createDirectConversation,
  createGroupConversation,
  getConversation,
} from '../adapters/conversation-store.ts';
import { acceptForBoth } from '../adapters/request-store.ts';
import { getUserStates } from '../adapters/user-directory.ts';
import { BadRequestError, ForbiddenError, TooLargeError } from './errors.ts';
import { MAX_GROUP_MEMBERS, normalizeTitle } from './group-rules.ts';
import { directConversationId, newGroupConversationId } from './identifiers.ts';
import type { Conversation } from './model.ts';

export interface BackendConversationInput {
  /** User ids (valid ones: the caller's schema checked them); duplicates count once. */
  members: readonly string[];
  /** Given: a group. Absent with two members: their direct conversation. */
  title?: string | null | undefined;
  /** Names the creation, so that a retry creates nothing more (the request's Idempotency-Key). */
  requestKey: string;
  now: Date;
}

/** Who made a group the backend created (its creation receipt is keyed by it). */
export const BACKEND_CREATOR = 'backend';

const cannotAddSome = (): ForbiddenError => new ForbiddenError('members: some members cannot be added');

/** The conversation, and whether this request created it (201) or found it (200). */
export async function createForBackend(
  input: BackendConversationInput,
): Promise<{ conversation: Conversation; created: boolean }> {
  const members = [...new Set(input.members)].sort();
  const group = input.title !== undefined && input.title !== null;
  if (members.length < 2) throw new BadRequestError('members: name at least two users');
  if (members.length > MAX_GROUP_MEMBERS) {
    throw new TooLargeError(`members: more than ${MAX_GROUP_MEMBERS}`);
  }
  if (!group && members.length !== 2) {
    throw new BadRequestError('members: a direct conversation has two; give a title for a group');
  }
  const states = await getUserStates(members);
  if (members.some((member) => states.get(member)?.deactivated === true)) throw cannotAddSome();
  const at = input.now.toISOString();
  if (group) {
    const { conversation, duplicate } = await createGroupConversation({
      conversationId: newGroupConversationId(),
      members,
      title: normalizeTitle(input.title),
      createdAt: at,
      createdBy: BACKEND_CREATOR,
      clientRequestId: input.requestKey,
      originConnectionId: undefined,
    });
    return { conversation, created: !duplicate };
  }
  const [a, b] = members as [string, string];
  if (states.get(a)?.blocks?.has(b) === true || states.get(b)?.blocks?.has(a) === true) throw cannotAddSome();
  const conversationId = directConversationId(a, b);
  const existing = await getConversation(conversationId, { consistent: true });
  if (existing === undefined) {
    const conversation = await createDirectConversation(conversationId, a, b, at, { accepted: true });
    if (conversation.createdAt === at) return { conversation, created: true };
    // A first message created it a moment before: accept that one.
    await acceptForBoth(conversationId, a, b, at);
    return { conversation, created: false };
  }
  await acceptForBoth(conversationId, a, b, at);
  return { conversation: existing, created: false };
}

import { createGroupConversation } from '../adapters/conversation-store.ts';
import { hasConsent } from '../adapters/list-entries.ts';
import { getMembers } from '../adapters/member-store.ts';
import { getUserStates } from '../adapters/user-directory.ts';
import { CONTACT_POLICY } from '../shared/config.ts';
import { ForbiddenError } from './errors.ts';
import { type ConversationFrame, toConversationFrame } from './frames.ts';
import { groupMembers, normalizeTitle } from './group-rules.ts';
import { directConversationId, newGroupConversationId } from './identifiers.ts';
import type { Caller } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface CreateConversationInput {
  caller: Caller;
  connectionId: string;
  clientRequestId: string;
  members: readonly string[];
  title?: string | null | undefined;
  now: Date;
}

/**
 * Creates a group once per (caller, clientRequestId) and answers the `conversation` frame: every retry
 * gets the first creation's id and `createdAt`. The members' connections learn of it through the
 * table's stream (the conversation INSERT), never from this handler (architecture.md).
 *
 * A deactivated member, or one who blocks the creator, refuses the whole group (`forbidden`, nothing
 * stored): like a direct message to them, and a group that silently left someone out would not be the
 * group asked for. Under the `requests` contact policy so does anyone who is not an accepted contact of
 * the creator (protocol.md 1.2): a group must not be a way around a request.
 */
const cannotAddSome = (): ForbiddenError => new ForbiddenError('members: some members cannot be added');

export async function createConversation(input: CreateConversationInput): Promise<ConversationFrame> {
  const creatorId = input.caller.userId;
  const members = groupMembers(creatorId, input.members);
  const title = normalizeTitle(input.title);
  // After the frame's own checks, before the members' states are read.
  await requireWithinRate(creatorId, 'createConversation', input.now);
  // The caller is connected, so active: the authorizer let them in and deactivation closes sockets.
  const others = members.filter((member) => member !== creatorId);
  const states = await getUserStates(others);
  // Errors name nobody (protocol.md 1.2): the refusal says neither who nor why, so that it cannot be
  // used to learn who is deactivated (or, with blocks, who blocks the caller).
  // A member who blocks the creator refuses the group too (protocol.md 1.2), with the same words.
  const refuses = (member: string): boolean => {
    const state = states.get(member);
    return state?.deactivated === true || state?.blocks?.has(creatorId) === true;
  };
  if (others.some(refuses)) throw cannotAddSome();
  if (CONTACT_POLICY === 'requests' && !(await allAcceptedContacts(creatorId, others))) throw cannotAddSome();
  const { conversation } = await createGroupConversation({
    conversationId: newGroupConversationId(),
    members,
    title,
    createdAt: input.now.toISOString(),
    createdBy: creatorId,
    clientRequestId: input.clientRequestId,
    originConnectionId: input.connectionId,
  });
  return toConversationFrame(conversation);
}

/**
 * Every one of `others` has an accepted direct conversation with the creator: consent in it (both wrote,
 * or one accepted the other's request), as the creator's own member item of it records. One strongly
 * consistent BatchGetItem, so a request accepted a moment ago counts.
 */
async function allAcceptedContacts(creatorId: string, others: readonly string[]): Promise<boolean> {
  const cursors = await getMembers(
    others.map((other) => ({ conversationId: directConversationId(creatorId, other), userId: creatorId })),
  );
  return cursors.filter((cursor) => hasConsent(cursor)).length === others.length;
}

/**
 * Which conversation a frame is about, and whether the caller may act in it: the membership rules
 * every conversation-scoped action shares.
 *
 * A caller who is not a member gets one answer, `notAMember()`, whether or not the conversation
 * exists, after the same reads, and nothing is read from the conversation's messages or other members
 * for them (protocol.md, `forbidden`: nobody learns which conversations exist). This matters most for
 * direct conversations, whose ids anyone can compute from the two user ids: telling "no such
 * conversation" from "not yours" would tell anyone whether two users talk.
 */
import {
  createDirectConversation,
  getConversation,
  putMemberIfListed,
} from '../adapters/conversation-store.ts';
import { getMember } from '../adapters/member-store.ts';
import { getUserState } from '../adapters/user-directory.ts';
import { CONTACT_POLICY } from '../shared/config.ts';
import { ForbiddenError } from './errors.ts';
import { DIRECT_ID_PREFIX, directConversationId } from './identifiers.ts';
import type { Conversation, MemberCursor, UserState } from './model.ts';

export interface ConversationTarget {
  conversationId?: string | undefined;
  to?: string | undefined;
}

/** The one refusal for a non-member, the same whether or not the conversation exists. */
export const notAMember = (): ForbiddenError => new ForbiddenError('not a member of this conversation');

/** The conversation the caller belongs to; `notAMember()` when it does not exist or is someone else's. */
async function requireMembership(conversationId: string, userId: string): Promise<Conversation> {
  // Groups lose members (leaveConversation): read strongly consistently, so that a member who just left
  // is refused at once rather than after the replicas caught up. The choice is made on the id alone,
  // never on what exists, so it tells a non-member nothing. Direct conversations never change.
  const conversation = await getConversation(conversationId, {
    caller: userId,
    ...(!conversationId.startsWith(DIRECT_ID_PREFIX) && { consistent: true }),
  });
  if (conversation === undefined || !conversation.members.includes(userId)) throw notAMember();
  return conversation;
}

/**
 * The caller's member item (their read cursor), which exists when they are a member: it is written with
 * the conversation. Without one, the conversation is read (consistently, for a group): a group whose
 * creation failed before this member's item was written, and that still lists them, gets it now
 * (protocol.md 1.2: a group is whole for every member); anyone else gets `notAMember()`, after the same
 * reads whether or not the conversation exists.
 */
export async function requireMemberCursor(conversationId: string, userId: string): Promise<MemberCursor> {
  const member = await getMember(conversationId, userId);
  if (member !== undefined) return member;
  // A direct conversation's member items are written with it, in one transaction: nothing to repair,
  // and no read that a warm container's cache could answer faster for one that exists.
  if (conversationId.startsWith(DIRECT_ID_PREFIX)) throw notAMember();
  const conversation = await getConversation(conversationId, { consistent: true });
  if (conversation?.kind !== 'group' || !conversation.members.includes(userId)) throw notAMember();
  if ((await putMemberIfListed(conversation, userId)) === 'not_listed') {
    throw notAMember();
  }
  const repaired = await getMember(conversationId, userId);
  if (repaired === undefined) throw notAMember();
  return repaired;
}

const SELF_MESSAGE = 'you cannot send a message to yourself';

/** `to` naming the caller is refused before anything is read or written. */
export function refuseSelfAddress(
  target: ConversationTarget,
  userId: string,
  message = 'you cannot address yourself',
): void {
  if (target.to === userId) throw new ForbiddenError(message);
}

/** The existing conversation a target names (the direct one for `to`), with the caller a member. */
export async function resolveExisting(target: ConversationTarget, userId: string): Promise<Conversation> {
  refuseSelfAddress(target, userId);
  if (target.to !== undefined) {
    return requireMembership(directConversationId(userId, target.to), userId);
  }
  return requireMembership(target.conversationId ?? '', userId);
}

/** `to` naming the sender: refused before anything is read, written or counted. */
export const refuseMessageToSelf = (target: ConversationTarget, senderId: string): void =>
  refuseSelfAddress(target, senderId, SELF_MESSAGE);

/**
 * Errors name nobody and say no why (protocol.md 1.2): a refusal for a deactivated recipient reads the
 * same as one for a recipient who blocks the sender will.
 */
const cannotWriteTo = (): ForbiddenError => new ForbiddenError('you cannot send messages to this user');

/**
 * A direct message may go to a recipient who is active and does not block the sender: the state item
 * read to learn the first carries the second (block-store.ts), so a block costs a send nothing more.
 */
const mayWriteTo = (recipient: UserState, senderId: string): boolean =>
  !recipient.deactivated && recipient.blocks?.has(senderId) !== true;

/** Where a message goes, and how to have its conversation: created only once everything else passed. */
export interface SendingTarget {
  conversationId: string;
  /** What the conversation is, or will be once created (the send hook is told before it exists). */
  kind: Conversation['kind'];
  members: readonly string[];
  /** The conversation, created now when `to` names a user written to for the first time. */
  ensure(): Promise<Conversation>;
}

/**
 * The conversation a message goes to, checked but not created: a send refused after this (an upload
 * that is not there, not the sender's, or attached elsewhere) must leave nothing behind, a direct
 * conversation with a stranger least of all (protocol.md 1.2, "a failed sendMessage never creates a
 * conversation"). Direct messages to a deactivated user, or to one who blocks the sender, are refused
 * with the same words, whichever way it is named.
 */
export async function resolveForSending(
  target: ConversationTarget,
  senderId: string,
  now: Date,
): Promise<SendingTarget> {
  if (target.to !== undefined) {
    const recipientId = target.to;
    refuseMessageToSelf(target, senderId);
    const conversationId = directConversationId(senderId, recipientId);
    const [existing, recipient] = await Promise.all([
      getConversation(conversationId),
      getUserState(recipientId),
    ]);
    if (!mayWriteTo(recipient, senderId)) throw cannotWriteTo();
    return {
      conversationId,
      kind: 'direct',
      // As createDirectConversation stores them.
      members: existing?.members ?? [senderId, recipientId].sort(),
      ensure: async () => {
        if (existing !== undefined) return existing;
        // A first message to someone the sender blocks (their choice) starts the conversation blocked.
        // Under the `requests` contact policy it is a request for the recipient (protocol.md 1.2).
        const sender = await getUserState(senderId);
        return createDirectConversation(conversationId, senderId, recipientId, now.toISOString(), {
          creatorBlocks: sender.blocks?.has(recipientId) === true,
          request: CONTACT_POLICY === 'requests',
        });
      },
    };
  }
  const conversation = await requireMembership(target.conversationId ?? '', senderId);
  if (conversation.kind === 'direct') {
    const other = conversation.members.find((member) => member !== senderId);
    if (other !== undefined && !mayWriteTo(await getUserState(other), senderId)) throw cannotWriteTo();
  }
  return {
    conversationId: conversation.conversationId,
    kind: conversation.kind,
    members: conversation.members,
    ensure: async () => conversation,
  };
}

/**
 * Delivery keeps the members' conversation list entries (adapters/list-entries.ts) in step with what
 * it delivers, so that a client that was offline reads the same state from its list: an edit, deletion
 * or reaction (the entry's version, and its `lastMessage` when that is the message), a read in a direct
 * conversation (the other user's ticks), a member leaving a group (`members`), a contact's presence.
 * Each update is forward-only and idempotent, so a retried or replayed record changes nothing twice.
 */
import { DELIVERY_BY } from '../adapters/changed-by.ts';
import type { Contact } from '../adapters/conversation-list-store.ts';
import {
  changedLastMessagePart,
  changeVersionPart,
  counterPart,
  peerPresencePart,
  presenceFlows,
  updateEntry,
} from '../adapters/list-entries.ts';
import type { ReadFrame } from '../domain/frames.ts';
import type { Conversation, StoredMessage } from '../domain/model.ts';
import { conversationVersion, seqOfVersion } from '../domain/versions.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { FANOUT_LIMITS } from '../shared/config.ts';

/** An edit, a deletion or a reaction (`message` as it now stands, with its version): every member's entry. */
export async function recordMessageChange(
  members: readonly string[],
  /** The message as each member sees it (hidden from who blocks its sender). */
  seenBy: (userId: string) => StoredMessage,
): Promise<void> {
  const now = new Date().toISOString();
  await mapConcurrently(members, FANOUT_LIMITS.parallelism, async (userId) => {
    const message = seenBy(userId);
    const version = message.version;
    if (version === undefined) return;
    await updateEntry({
      conversationId: message.conversationId,
      userId,
      // A change to the conversation's newest message at the time (its version is claimed in that
      // message's slot: versions.ts) may be what the entry shows; a change to an older one never is.
      parts: [
        changeVersionPart(version),
        ...(seqOfVersion(version) === message.seq ? [changedLastMessagePart(message, version)] : []),
      ],
      movedAt: now,
      changedBy: DELIVERY_BY,
    });
  });
}

/** A read in a direct conversation: the other user's entry shows how far it was read (their ticks). */
export async function recordPeerRead(conversation: Conversation, read: ReadFrame): Promise<void> {
  if (conversation.kind !== 'direct') return;
  const peer = conversation.members.find((member) => member !== read.userId);
  if (peer === undefined) return;
  await updateEntry({
    conversationId: conversation.conversationId,
    userId: peer,
    parts: [counterPart('peerReadSeq', read.seq)],
    movedAt: new Date().toISOString(),
    changedBy: DELIVERY_BY,
  });
}

/**
 * A group's membership changed (a leave): every remaining member's entry takes the members as they are
 * now, guarded by the change's version so that an older record delivered late never restores a leaver.
 */
export async function recordMembership(conversation: Conversation): Promise<void> {
  if (conversation.kind !== 'group' || conversation.changeSeq === undefined) return;
  const version = conversationVersion({
    lastSeq: 0,
    changeSeq: conversation.changeSeq,
    changeCount: conversation.changeCount ?? 0,
  });
  const now = new Date().toISOString();
  await mapConcurrently(conversation.members, FANOUT_LIMITS.parallelism, (userId) =>
    updateEntry({
      conversationId: conversation.conversationId,
      userId,
      parts: [
        changeVersionPart(version, {
          set: ['members = :members'],
          values: { ':members': conversation.members },
        }),
      ],
      movedAt: now,
      changedBy: DELIVERY_BY,
    }),
  );
}

/**
 * A user's presence changed: their contacts' entries of the direct conversations with them show it,
 * and the contacts to send the frame to are answered.
 * Presence does not move entries (a contact coming online must not reorder the list), so a client that
 * reconnects takes it from the entries it reads and from `presence` frames.
 */
export async function recordPresence(
  contacts: readonly Contact[],
  status: 'online' | 'offline',
  at: string,
): Promise<Contact[]> {
  const entries = await mapConcurrently(contacts, FANOUT_LIMITS.parallelism, (contact) =>
    updateEntry({
      conversationId: contact.conversationId,
      userId: contact.userId,
      parts: [peerPresencePart(status, at)],
      movedAt: undefined,
      changedBy: DELIVERY_BY,
    }),
  );
  // The contacts to tell (protocol.md 1.2): where both wrote and neither blocks the other, as the entry
  // now stands.
  return contacts.filter((_, index) => {
    const entry = entries[index];
    return entry !== undefined && presenceFlows(entry);
  });
}

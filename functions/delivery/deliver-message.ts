/**
 * Delivery of one committed message (a stream INSERT): the `message` frame to every connection of every
 * member but the one that sent it, the recipients' unread bookkeeping and the sender's read cursor, and
 * a push to each recipient who turned out to have no open connection.
 */
import { SYSTEM_SENDER } from '../../definitions/server-api.ts';
import { putMemberIfListed } from '../adapters/conversation-store.ts';
import { presenceFlows } from '../adapters/list-entries.ts';
import { recordDelivered, recordReached, recordSent } from '../adapters/unread-store.ts';
import type { UserDirectoryEntry } from '../adapters/user-directory.ts';
import { messageFrameOf } from '../domain/attachments.ts';
import type { UnreadEntry } from '../domain/badge.ts';
import { hiddenMessage } from '../domain/hidden-messages.ts';
import type { StoredMessage } from '../domain/model.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { FANOUT_LIMITS } from '../shared/config.ts';
import { isReachable, loadConversationAudience } from './audience.ts';
import { blocksAround } from './blocks-between.ts';
import { deliverToMembers } from './deliver-to-members.ts';
import type { DeliveryReport } from './delivery-report.ts';
import { introducePresence } from './introduce-presence.ts';
import { notifyOffline } from './push.ts';

/**
 * Never throws for one target's failure: every connection and device is tried, and the report says
 * what failed and how, so the caller retries the record (transient) or records it (permanent). A retry
 * may send a frame twice (clients keep one per messageId), never push a device twice (push receipts).
 * Pushes wait until every connection was tried, and skip recipients whose connections may still take
 * the frame on a retry (a transient failure, or a connection inside `$connect`).
 */
export async function deliverMessage(
  message: StoredMessage,
  senderName: string | undefined,
): Promise<DeliveryReport> {
  const now = new Date();
  // Strongly consistent for a group, and without whoever hid a direct conversation up to this seq:
  // a member who left before this delivery gets neither the frame nor a push (audience.ts).
  const audience = await loadConversationAudience(message.conversationId, { seq: message.seq });
  // Members who block the sender get it hidden, keep no trace of its content in their list and get no
  // push; nor does a `delivered` pass between the sender and anyone cut off from them (protocol.md 1.2).
  // The app backend's notices (`system`) are no user's: nobody blocks them, and none is cut off.
  const { blockers, cutOff } =
    message.senderId === SYSTEM_SENDER
      ? { blockers: new Set<string>(), cutOff: new Set<string>() }
      : await blocksAround(audience, message.senderId, { writing: true });
  // A notice of the app's backend is in a direct conversation, but from neither user: no consent.
  const direct = audience.conversation.kind === 'direct' && message.senderId !== SYSTEM_SENDER;
  const seenBy = (userId: string): StoredMessage => (blockers.has(userId) ? hiddenMessage(message) : message);
  const frame = await messageFrameOf(message, now);
  const hiddenFrame = blockers.size > 0 ? await messageFrameOf(hiddenMessage(message), now) : frame;
  // Unread counts are kept for every recipient, deactivated ones too: they are right on reactivation.
  // Before the posts, so that a recipient's list shows the message by the time its frame arrives (a
  // client that lists on receiving it sees it there). Bounded like every fan-out: a group of 100 is 99
  // updates, not 99 requests at once.
  const recipientIds = audience.members
    .map((entry) => entry.userId)
    .filter((userId) => userId !== message.senderId);
  const cursors = await mapConcurrently(recipientIds, FANOUT_LIMITS.parallelism, async (userId) => {
    const record = () => recordDelivered(seenBy(userId), userId, now.toISOString(), { direct });
    const cursor = await record();
    if (cursor !== undefined || audience.conversation.kind !== 'group') return cursor;
    // A group whose creation failed before this member's item was written (protocol.md 1.2: a group is
    // whole for every member who gets its messages): the item is put now, if the group still lists them.
    const repaired = await putMemberIfListed(audience.conversation, userId);
    return repaired === 'put' ? record() : undefined;
  });
  const cursorOf = new Map(recipientIds.map((userId, index) => [userId, cursors[index]]));
  const {
    report: posted,
    reached,
    members,
  } = await deliverToMembers({
    audience: audience.members,
    frame: (userId) => (blockers.has(userId) ? hiddenFrame : frame),
    skipConnectionId: message.originConnectionId,
    waitForConnecting: true,
    now: now.getTime(),
    enforceCaps: true,
  });
  const recipients = members.filter((entry) => entry.userId !== message.senderId);
  const reachedAndTold = (entry: UserDirectoryEntry): boolean =>
    reached.has(entry.userId) && !cutOff.has(entry.userId);
  // A group's receipts show each member's delivered cursor (a direct one's show it on the sender's
  // entry, below): known once the posts are done.
  if (audience.conversation.kind === 'group') {
    await mapConcurrently(
      recipients.filter((entry) => reached.has(entry.userId)),
      FANOUT_LIMITS.parallelism,
      (entry) => recordReached(message, entry.userId),
    );
  }
  // Sending reads what came before (protocol.md 1.2): the sender's unread and badge drop to what others
  // wrote after it. Here rather than in sendMessage, so that the stream's retries carry it through and
  // a committed message is always acked as such.
  // In a direct conversation the sender's entry also shows whether it reached the other user.
  const senderEntry = await recordSent(message, {
    peerReached: direct && recipients.some(reachedAndTold),
    now: now.toISOString(),
    direct,
  });
  // (1.2) The first message that makes both users writers of a direct conversation gives consent: each
  // learns the other's presence now (once: after that the entry holds a presence).
  if (
    direct &&
    senderEntry !== undefined &&
    presenceFlows(senderEntry) &&
    senderEntry.peerStatus === undefined
  ) {
    await introducePresence(audience.conversation, members);
  }
  const sender = members.find((entry) => entry.userId === message.senderId);
  const senderConnections = sender !== undefined && isReachable(sender) ? sender.connections : [];

  const report: DeliveryReport = {
    ...posted,
    delivered: recipients.filter(reachedAndTold).map((recipient) => ({
      conversationId: message.conversationId,
      recipientId: recipient.userId,
      seq: message.seq,
      senderConnections,
    })),
  };
  const mayStillReach = new Set([
    ...posted.connecting.map((connection) => connection.userId),
    ...posted.failures.filter((failure) => failure.kind === 'transient').map((failure) => failure.userId),
  ]);
  const offline: { recipient: UserDirectoryEntry; cursor: UnreadEntry | undefined }[] = [];
  recipients.forEach((recipient) => {
    const cursor = cursorOf.get(recipient.userId);
    // A member who already read this far needs no push; nor does a request after its first message
    // (protocol.md 1.2: one push per request, not one per message).
    const readAlready = cursor !== undefined && cursor.readSeq >= message.seq;
    const requestPushed = cursor?.request === true && message.seq > 1;
    if (
      isReachable(recipient) &&
      !reached.has(recipient.userId) &&
      !mayStillReach.has(recipient.userId) &&
      !readAlready &&
      !requestPushed &&
      !blockers.has(recipient.userId) &&
      recipient.devices.length > 0
    ) {
      offline.push({ recipient, cursor });
    }
  });
  const pushes = await mapConcurrently(offline, FANOUT_LIMITS.parallelism, ({ recipient, cursor }) =>
    notifyOffline(recipient, cursor, message, senderName, now, audience.conversation),
  );
  for (const push of pushes) {
    report.pushed += push.pushed;
    report.alreadyPushed += push.alreadyPushed;
    report.devicesRemoved += push.devicesRemoved;
    report.failures.push(...push.failures);
  }
  return report;
}

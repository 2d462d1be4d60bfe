/**
 * Delivery of one committed message (a stream INSERT): the `message` frame to every connection of every
 * member but the one that sent it, the recipients' unread bookkeeping, and a push to each recipient
 * who turned out to have no open connection.
 */
import { recordDelivered } from '../adapters/unread-store.ts';
import type { UserDirectoryEntry } from '../adapters/user-directory.ts';
import { isReachable, loadAudience } from './audience.ts';
import type { UnreadEntry } from './badge.ts';
import { sendToConnections } from './fanout.ts';
import type { MessageFrame } from './frames.ts';
import type { StoredMessage } from './model.ts';
import { notifyOffline } from './notify-offline.ts';

export interface MessageDeliveryOutcome {
  sent: number;
  gone: number;
  pushed: number;
  devicesRemoved: number;
}

export function toMessageFrame(message: StoredMessage): MessageFrame {
  return {
    type: 'message',
    conversationId: message.conversationId,
    messageId: message.messageId,
    seq: message.seq,
    senderId: message.senderId,
    content: message.content,
    createdAt: message.createdAt,
    clientMessageId: message.clientMessageId,
  };
}

/**
 * Throws when any connection failed for a reason other than 410, so the record is retried: a retry may
 * send the frame twice (clients keep one per messageId), never lose it. Pushes wait until every
 * connection was tried, so a retried record does not push to users who were in fact online.
 */
export async function deliverMessage(
  message: StoredMessage,
  senderName: string | undefined,
): Promise<MessageDeliveryOutcome> {
  const members = await loadAudience(message.conversationId);
  // Unread counts are kept for every recipient, deactivated ones too: they are right on reactivation.
  const recipients = members.filter((entry) => entry.userId !== message.senderId);
  const [fanout, cursors] = await Promise.all([
    postToMembers(members.filter(isReachable), message),
    Promise.all(
      recipients.map((entry) => recordDelivered(message.conversationId, entry.userId, message.seq)),
    ),
  ]);

  const offline: { recipient: UserDirectoryEntry; cursor: UnreadEntry | undefined }[] = [];
  recipients.forEach((recipient, index) => {
    const cursor = cursors[index];
    // Connections that answered 410 count as closed; a member who already read this far needs no push.
    const online = (fanout.sentTo.get(recipient.userId) ?? 0) > 0;
    const readAlready = cursor !== undefined && cursor.readSeq >= message.seq;
    if (isReachable(recipient) && !online && !readAlready && recipient.devices.length > 0) {
      offline.push({ recipient, cursor });
    }
  });
  const pushes = await Promise.all(
    offline.map(({ recipient, cursor }) => notifyOffline(recipient, cursor, message, senderName)),
  );
  return {
    sent: fanout.sent,
    gone: fanout.gone,
    pushed: pushes.reduce((total, push) => total + push.pushed, 0),
    devicesRemoved: pushes.reduce((total, push) => total + push.devicesRemoved, 0),
  };
}

interface MemberFanout {
  sent: number;
  gone: number;
  /** Frames that reached each member's connections. */
  sentTo: Map<string, number>;
}

/** Every connection of every member but the sending one; throws unless all were sent or gone. */
async function postToMembers(
  members: readonly UserDirectoryEntry[],
  message: StoredMessage,
): Promise<MemberFanout> {
  const frame = toMessageFrame(message);
  const results = await Promise.all(
    members.map((entry) =>
      sendToConnections(
        entry.connections.filter((connection) => connection.connectionId !== message.originConnectionId),
        frame,
      ),
    ),
  );
  const fanout: MemberFanout = { sent: 0, gone: 0, sentTo: new Map() };
  const failures: unknown[] = [];
  results.forEach((result, index) => {
    fanout.sent += result.sent;
    fanout.gone += result.gone;
    failures.push(...result.failures);
    const member = members[index];
    if (member !== undefined) fanout.sentTo.set(member.userId, result.sent);
  });
  if (failures.length > 0) {
    throw new AggregateError(failures, `${failures.length} connection(s) could not be posted to`);
  }
  return fanout;
}

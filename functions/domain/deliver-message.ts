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
  const audience = (await loadAudience(message.conversationId)).filter(isReachable);
  const recipients = audience.filter((entry) => entry.userId !== message.senderId);
  const frame = toMessageFrame(message);

  const [fanouts, cursors] = await Promise.all([
    Promise.all(
      audience.map((entry) =>
        sendToConnections(
          entry.connections.filter((connection) => connection.connectionId !== message.originConnectionId),
          frame,
        ),
      ),
    ),
    Promise.all(
      recipients.map((entry) => recordDelivered(message.conversationId, entry.userId, message.seq)),
    ),
  ]);

  const outcome: MessageDeliveryOutcome = { sent: 0, gone: 0, pushed: 0, devicesRemoved: 0 };
  const failures: unknown[] = [];
  const sentTo = new Map<string, number>();
  audience.forEach((entry, index) => {
    const fanout = fanouts[index];
    if (fanout === undefined) return;
    outcome.sent += fanout.sent;
    outcome.gone += fanout.gone;
    failures.push(...fanout.failures);
    sentTo.set(entry.userId, fanout.sent);
  });
  if (failures.length > 0) {
    throw new AggregateError(failures, `${failures.length} connection(s) could not be posted to`);
  }

  const offline: { recipient: UserDirectoryEntry; cursor: UnreadEntry | undefined }[] = [];
  recipients.forEach((recipient, index) => {
    const cursor = cursors[index];
    // Connections that answered 410 count as closed; a member who already read this far needs no push.
    const readAlready = cursor !== undefined && cursor.readSeq >= message.seq;
    if ((sentTo.get(recipient.userId) ?? 0) === 0 && recipient.devices.length > 0 && !readAlready) {
      offline.push({ recipient, cursor });
    }
  });
  const pushes = await Promise.all(
    offline.map(({ recipient, cursor }) => notifyOffline(recipient, cursor, message, senderName)),
  );
  for (const push of pushes) {
    outcome.pushed += push.pushed;
    outcome.devicesRemoved += push.devicesRemoved;
  }
  return outcome;
}

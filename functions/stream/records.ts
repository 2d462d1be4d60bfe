/**
 * What a DynamoDB stream record means for delivery. The event source mapping's filter should only let
 * committed messages, new conversations, groups a member left, member items removed or hidden by a
 * leave and read cursors moved by markRead through; anything else that arrives anyway is skipped, never failed, so one odd record cannot block
 * its shard.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { attachmentsOf } from '../adapters/attachment-item.ts';
import { ACCEPT_BY, LEFT_BY } from '../adapters/changed-by.ts';
import { lifecycleOf } from '../adapters/message-item.ts';
import type { StoredEvent } from '../delivery/index.ts';
import { toMessageUpdatedFrame } from '../domain/frames.ts';

/** A stored event to deliver (functions/delivery/index.ts), or what this handler does itself. */
export type DeliveryEvent =
  | StoredEvent
  | {
      kind: 'presence';
      /** A connection item was put (`$connect`) or removed (whatever removed it). */
      change: 'opened' | 'closed';
      userId: string;
      connectionId: string;
      sequenceNumber: string;
      at: string;
    }
  | { kind: 'close'; userId: string; connectionId: string; reason: string }
  | { kind: 'skip'; reason: string; malformed: boolean };

/**
 * The `eventID` prefix of the records an operator's redrive rebuilds (admin/redrive.ts): their
 * queue entry already names the message, so a failure is reported rather than recorded again.
 */
export const REDRIVE_EVENT_ID_PREFIX = 'redrive:';

export const isRedriveRecord = (eventId: string | undefined): boolean =>
  eventId?.startsWith(REDRIVE_EVENT_ID_PREFIX) === true;

type Item = Record<string, unknown>;
type StreamImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

// aws-lambda's stream AttributeValue and the SDK's describe the same wire shape with different types.
const toItem = (image: StreamImage | undefined): Item | undefined =>
  image === undefined ? undefined : unmarshall(image as Record<string, AttributeValue>);

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) ? value : undefined;

const skip = (reason: string): DeliveryEvent => ({ kind: 'skip', reason, malformed: false });
const malformed = (reason: string): DeliveryEvent => ({ kind: 'skip', reason, malformed: true });

export function toDeliveryEvent(record: DynamoDBRecord): DeliveryEvent {
  if (record.eventName === 'REMOVE') {
    const oldItem = toItem(record.dynamodb?.OldImage);
    if (oldItem?.type === 'connection') return toPresenceEvent('closed', oldItem, record);
    // A group member item is removed only when its user stops being a member (leaveConversation).
    if (oldItem?.type === 'member') return toLeftEvent(oldItem);
    return skip(`REMOVE of a ${String(oldItem?.type)} item`);
  }
  const newItem = toItem(record.dynamodb?.NewImage);
  if (newItem === undefined) return skip(`${record.eventName ?? 'unknown'} without a new image`);
  if (record.eventName === 'INSERT' && newItem.type === 'message') return toMessageEvent(newItem);
  if (record.eventName === 'INSERT' && newItem.type === 'conversation') return toConversationEvent(newItem);
  if (record.eventName === 'INSERT' && newItem.type === 'connection') {
    return toPresenceEvent('opened', newItem, record);
  }
  if (record.eventName === 'MODIFY' && newItem.type === 'message') return toMessageUpdatedEvent(newItem);
  if (record.eventName === 'MODIFY' && newItem.type === 'connection') return toCloseEvent(newItem);
  if (record.eventName === 'MODIFY' && newItem.type === 'conversation') return toMembersChangedEvent(newItem);
  if (record.eventName === 'MODIFY' && newItem.type === 'member' && newItem.changedBy === LEFT_BY) {
    return toHiddenEvent(newItem, toItem(record.dynamodb?.OldImage));
  }
  if (record.eventName === 'MODIFY' && newItem.type === 'member' && newItem.changedBy === ACCEPT_BY) {
    return toAcceptedEvent(newItem, toItem(record.dynamodb?.OldImage));
  }
  if (record.eventName === 'MODIFY' && newItem.type === 'member') {
    return toReadEvent(newItem, toItem(record.dynamodb?.OldImage));
  }
  return skip(`${record.eventName ?? 'unknown'} of a ${String(newItem.type)} item`);
}

/** Nothing but edits, deletions and reactions modifies a message item (functions/adapters/message-changes.ts). */
function toMessageUpdatedEvent(item: Item): DeliveryEvent {
  const event = toMessageEvent(item);
  if (event.kind !== 'message') return event;
  return { kind: 'messageUpdated', update: toMessageUpdatedFrame(event.message), message: event.message };
}

function toMessageEvent(item: Item): DeliveryEvent {
  const conversationId = text(item.conversationId);
  const seq = count(item.seq);
  const messageId = text(item.messageId);
  const senderId = text(item.senderId);
  const content = text(item.content);
  const createdAt = text(item.createdAt);
  const clientMessageId = text(item.clientMessageId);
  if (
    conversationId === undefined ||
    seq === undefined ||
    messageId === undefined ||
    senderId === undefined ||
    content === undefined ||
    createdAt === undefined ||
    clientMessageId === undefined
  ) {
    return malformed('message item lacks a field of the message frame');
  }
  return {
    kind: 'message',
    message: {
      conversationId,
      seq,
      messageId,
      senderId,
      content,
      createdAt,
      clientMessageId,
      originConnectionId: text(item.originConnectionId),
      ...lifecycleOf(item),
      ...attachmentsOf(item),
    },
    senderName: text(item.senderName),
  };
}

/**
 * A group member left (leaveConversation, the only change ever made to a conversation item): the new
 * image's `members` are the remaining ones, and they get the `conversation` frame; the leaver is not
 * among them. No connection is skipped: the creator's `originConnectionId` was about the creation.
 */
function toMembersChangedEvent(item: Item): DeliveryEvent {
  if (item.changedBy !== 'leave') return skip(`conversation change by ${String(item.changedBy)}`);
  const event = toConversationEvent(item);
  return event.kind === 'conversation' ? { ...event, originConnectionId: undefined } : event;
}

function toConversationEvent(item: Item): DeliveryEvent {
  const conversationId = text(item.conversationId);
  const kind = item.kind === 'direct' || item.kind === 'group' ? item.kind : undefined;
  const members =
    Array.isArray(item.members) && item.members.every((member) => typeof member === 'string')
      ? (item.members as string[])
      : undefined;
  const title = item.title === null || item.title === undefined ? null : text(item.title);
  const createdAt = text(item.createdAt);
  if (
    conversationId === undefined ||
    kind === undefined ||
    members === undefined ||
    title === undefined ||
    createdAt === undefined
  ) {
    return malformed('conversation item lacks a field of the conversation frame');
  }
  return {
    kind: 'conversation',
    conversation: { conversationId, kind, members, title, createdAt },
    originConnectionId: text(item.originConnectionId),
  };
}

function toLeftEvent(item: Item): DeliveryEvent {
  const conversationId = text(item.conversationId);
  const userId = text(item.userId);
  if (conversationId === undefined || userId === undefined) return malformed('member item lacks its ids');
  return { kind: 'left', conversationId, userId };
}

/**
 * A direct conversation hidden by leaveConversation (membership-changes.ts `hideUntilSeq`): the mark
 * only ever moves up, and only a mark that moved is a leave (a record rebuilt without an old image,
 * by a redrive, counts as one).
 */
function toHiddenEvent(item: Item, old: Item | undefined): DeliveryEvent {
  const mark = count(item.hiddenUntilSeq);
  if (mark === undefined) return skip('member change by leave without a hidden mark');
  if (mark <= (count(old?.hiddenUntilSeq) ?? -1)) return skip('hidden mark did not move');
  return toLeftEvent(item);
}

/**
 * (1.2) A message request accepted (request-store.ts), or a direct conversation the app's backend
 * accepted for both: only the change that took `pendingRequest` away or gave consent is one (a later
 * write that leaves `changedBy` as it was is not; a record rebuilt without an old image, by a redrive,
 * counts as one).
 */
function toAcceptedEvent(item: Item, old: Item | undefined): DeliveryEvent {
  // News when it ended a request or gave consent; a later write that kept the marker is neither.
  if (old !== undefined && old.pendingRequest !== true && old.sent === true && old.peerSent === true) {
    return skip('member change by accept of a conversation accepted already');
  }
  const conversationId = text(item.conversationId);
  const userId = text(item.userId);
  if (conversationId === undefined || userId === undefined) return malformed('member item lacks its ids');
  return { kind: 'accepted', conversationId, userId };
}

/** Only a cursor that moved forward is news: markRead never moves it back, replays never move it. */
function toReadEvent(item: Item, old: Item | undefined): DeliveryEvent {
  if (item.changedBy !== 'read') return skip(`member change by ${String(item.changedBy)}`);
  const conversationId = text(item.conversationId);
  const userId = text(item.userId);
  const readSeq = count(item.readSeq);
  const readAt = text(item.readAt);
  if (conversationId === undefined || userId === undefined || readSeq === undefined || readAt === undefined) {
    return malformed('member item lacks a field of the read frame');
  }
  if (readSeq <= (count(old?.readSeq) ?? 0)) return skip('read cursor did not move forward');
  return { kind: 'read', read: { type: 'read', conversationId, userId, seq: readSeq, readAt } };
}

/**
 * When it happened: the stream's own time of the change (whole seconds, and the only time a TTL
 * deletion has), the connection's `connectedAt` when it opened. A close is never dated before its
 * connection's open (a millisecond after it at least): the stream's whole second can fall before the
 * open's exact time, and presence is ordered by these times (list-entries.ts).
 */
function toPresenceEvent(change: 'opened' | 'closed', item: Item, record: DynamoDBRecord): DeliveryEvent {
  const userId = text(item.userId);
  const connectionId = text(item.connectionId);
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  if (userId === undefined || connectionId === undefined || sequenceNumber === undefined) {
    return malformed('connection record lacks userId, connectionId or a sequence number');
  }
  const streamTime = record.dynamodb?.ApproximateCreationDateTime;
  const connectedAt = Date.parse(text(item.connectedAt) ?? '');
  const at =
    change === 'opened' && !Number.isNaN(connectedAt)
      ? String(item.connectedAt)
      : new Date(
          Math.max(
            streamTime === undefined ? Date.now() : streamTime * 1000,
            Number.isNaN(connectedAt) ? 0 : connectedAt + 1,
          ),
        ).toISOString();
  return { kind: 'presence', change, userId, connectionId, sequenceNumber, at };
}

function toCloseEvent(item: Item): DeliveryEvent {
  const userId = text(item.userId);
  const connectionId = text(item.connectionId);
  const reason = text(item.closeRequested);
  if (reason === undefined) return skip('connection change without a close request');
  if (userId === undefined || connectionId === undefined) return malformed('connection item lacks its ids');
  return { kind: 'close', userId, connectionId, reason };
}

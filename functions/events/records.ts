/**
 * What a DynamoDB stream record means for the app's backend (integration.md, "Events to the backend"):
 * one EventBridge event, or nothing. Pure: no AWS client, so the mapping is tested on real-shaped
 * records alone (test/unit/events/records.test.ts).
 *
 * | stored change                                            | detail-type            |
 * | -------------------------------------------------------- | ---------------------- |
 * | message item INSERT                                      | `message.created`      |
 * | message item MODIFY that moved its `version`, not a tombstone | `message.updated` (`change`: `edit` or `reaction`) |
 * | message item MODIFY that made it a tombstone (`deleted`) | `message.deleted`      |
 * | conversation item INSERT (a group, or a direct conversation's first message) | `conversation.created` |
 * | group member item REMOVE (leaveConversation)             | `member.left`          |
 * | direct member item MODIFY `changedBy: 'leave'` whose hidden mark moved | `member.left` |
 * | report item INSERT                                       | `report.created`       |
 * | BLOCKEDBY item INSERT / REMOVE                           | `user.blocked` (`blocked: true` / `false`) |
 *
 * Left out on purpose: a message MODIFY that moved no version (a deleted message's reactions and
 * attachments cleared, an emoji's empty set dropped: no change anyone sees); a tombstone changed again;
 * a group's conversation item MODIFY by a leave (the member item's REMOVE of the same transaction is
 * the event; mapping both would publish two); member item INSERTs (definitions/events.ts,
 * `UNMAPPED_DETAIL_TYPES`); a block put again over itself (a MODIFY: the user was blocked already).
 *
 * Every detail holds `id`: the stream record's `eventID`, which DynamoDB gives each change once and
 * which stays the same however often the record is read again (Lambda's retries, a bisected batch, a
 * replay), so backends deduplicate on it. EventBridge's PutEvents has no field for a caller's id (the
 * `id` of the event it delivers is its own, new on every PutEvents), hence the detail. No content
 * unless `content` is on: message text and a report's note; ids, `seq`, `version`, `senderId`,
 * reasons, titles and times are always there.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { EventDetailType } from '../../definitions/events.ts';
import { LEFT_BY } from '../adapters/changed-by.ts';
import { messageVersion } from '../domain/versions.ts';

/** One event for the bus: `detail.id` is `id`. */
export interface ParleyEvent {
  readonly id: string;
  readonly detailType: Exclude<EventDetailType, 'conversation.deleted' | 'member.joined' | 'user.erased'>;
  /** When the change was stored: the stream's time of the record (whole seconds), ISO 8601. */
  readonly time: string | undefined;
  readonly detail: Readonly<Record<string, unknown>> & { readonly id: string };
}

export type EventOutcome =
  | { readonly kind: 'event'; readonly event: ParleyEvent }
  | { readonly kind: 'skip'; readonly reason: string; readonly malformed: boolean };

export interface MappingOptions {
  /** Message text and report notes in the detail (definitions/events.ts, `EVENT_CONTENT_SETTING`). */
  readonly content: boolean;
}

type Item = Record<string, unknown>;
type StreamImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
type Detail = Record<string, unknown>;

const toItem = (image: StreamImage | undefined): Item | undefined =>
  image === undefined ? undefined : unmarshall(image as Record<string, AttributeValue>);

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) ? value : undefined;
const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((entry) => typeof entry === 'string') ? (value as string[]) : undefined;

const skip = (reason: string): EventOutcome => ({ kind: 'skip', reason, malformed: false });
const malformed = (reason: string): EventOutcome => ({ kind: 'skip', reason, malformed: true });

/** Only the defined fields: an absent optional one is left out of the detail, never `null`. */
const defined = (fields: Detail): Detail =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

export function toParleyEvent(record: DynamoDBRecord, options: MappingOptions): EventOutcome {
  const mapped = mapRecord(record, options);
  if ('kind' in mapped) return mapped;
  const id = record.eventID;
  if (id === undefined || id === '') return malformed('stream record without an eventID');
  const seconds = record.dynamodb?.ApproximateCreationDateTime;
  return {
    kind: 'event',
    event: {
      id,
      detailType: mapped.detailType,
      time: seconds === undefined ? undefined : new Date(seconds * 1000).toISOString(),
      detail: { id, ...defined(mapped.detail) },
    },
  };
}

type Mapped = { detailType: ParleyEvent['detailType']; detail: Detail } | EventOutcome;

function mapRecord(record: DynamoDBRecord, options: MappingOptions): Mapped {
  const oldItem = toItem(record.dynamodb?.OldImage);
  if (record.eventName === 'REMOVE') {
    if (oldItem?.type === 'member') return memberLeft(oldItem);
    if (oldItem?.type === 'blockedBy') return userBlocked(oldItem, false);
    return skip(`REMOVE of a ${String(oldItem?.type)} item`);
  }
  const newItem = toItem(record.dynamodb?.NewImage);
  if (newItem === undefined) return skip(`${record.eventName ?? 'unknown'} without a new image`);
  if (record.eventName === 'INSERT') {
    switch (newItem.type) {
      case 'message':
        return messageCreated(newItem, options);
      case 'conversation':
        return conversationCreated(newItem);
      case 'report':
        return reportCreated(newItem, options);
      case 'blockedBy':
        return userBlocked(newItem, true);
      default:
        return skip(`INSERT of a ${String(newItem.type)} item`);
    }
  }
  if (record.eventName === 'MODIFY') {
    if (newItem.type === 'message') return messageChanged(newItem, oldItem, options);
    if (newItem.type === 'member' && newItem.changedBy === LEFT_BY) return directLeft(newItem, oldItem);
    return skip(`MODIFY of a ${String(newItem.type)} item by ${String(newItem.changedBy)}`);
  }
  return skip(`${record.eventName ?? 'unknown'} record`);
}

/** What every message event says about its message: where it is and who sent it. */
function messageIdentity(item: Item): Detail | undefined {
  const conversationId = text(item.conversationId);
  const seq = count(item.seq);
  const messageId = text(item.messageId);
  const senderId = text(item.senderId);
  if (
    conversationId === undefined ||
    seq === undefined ||
    messageId === undefined ||
    senderId === undefined
  ) {
    return undefined;
  }
  return { conversationId, seq, messageId, senderId };
}

const attachmentCount = (item: Item): number =>
  Array.isArray(item.attachments) ? item.attachments.length : 0;

/** A new message's version follows from its seq and is never stored (functions/domain/versions.ts). */
function messageCreated(item: Item, options: MappingOptions): Mapped {
  const identity = messageIdentity(item);
  const createdAt = text(item.createdAt);
  if (identity === undefined || createdAt === undefined) return malformed('message item lacks its ids');
  return {
    detailType: 'message.created',
    detail: {
      ...identity,
      version: messageVersion(identity.seq as number),
      createdAt,
      attachmentCount: attachmentCount(item),
      content: options.content ? text(item.content) : undefined,
    },
  };
}

/**
 * An edit, a reaction or a deletion stores the conversation's next version on the message item
 * (functions/adapters/message-changes.ts); the writes that follow a deletion (its reactions and
 * attachments cleared) and an emoji's last reaction dropping its name store none, and are no event.
 * A record without an old image (none in this table's NEW_AND_OLD_IMAGES stream) counts as a change.
 */
function messageChanged(item: Item, old: Item | undefined, options: MappingOptions): Mapped {
  const identity = messageIdentity(item);
  const version = count(item.version);
  if (identity === undefined) return malformed('message item lacks its ids');
  if (version === undefined) return skip('message change without a version');
  if (old !== undefined && count(old.version) === version)
    return skip('message change that moved no version');
  if (item.deleted === true) {
    if (old?.deleted === true) return skip('change of a deleted message');
    return {
      detailType: 'message.deleted',
      detail: { ...identity, version, deletedAt: text(item.deletedAt) },
    };
  }
  const edited = text(item.editedAt) !== undefined && item.editedAt !== old?.editedAt;
  return {
    detailType: 'message.updated',
    detail: {
      ...identity,
      version,
      change: edited ? 'edit' : 'reaction',
      editedAt: text(item.editedAt),
      content: options.content ? text(item.content) : undefined,
    },
  };
}

function conversationCreated(item: Item): Mapped {
  const conversationId = text(item.conversationId);
  const kind = item.kind === 'direct' || item.kind === 'group' ? item.kind : undefined;
  const members = strings(item.members);
  const createdAt = text(item.createdAt);
  if (
    conversationId === undefined ||
    kind === undefined ||
    members === undefined ||
    createdAt === undefined
  ) {
    return malformed('conversation item lacks a field of the conversation');
  }
  return {
    detailType: 'conversation.created',
    detail: {
      conversationId,
      kind,
      members,
      title: text(item.title) ?? null,
      createdAt,
      createdBy: text(item.createdBy),
    },
  };
}

/** A group member item is removed only by its user's leave (functions/adapters/membership-changes.ts). */
function memberLeft(item: Item): Mapped {
  const conversationId = text(item.conversationId);
  const userId = text(item.userId);
  if (conversationId === undefined || userId === undefined) return malformed('member item lacks its ids');
  const kind = item.kind === 'direct' || item.kind === 'group' ? item.kind : undefined;
  return { detailType: 'member.left', detail: { conversationId, userId, kind } };
}

/**
 * A direct conversation left: only the leaver's hidden mark moves (membership-changes.ts
 * `hideUntilSeq`), never down; a write that kept the marker without moving the mark is no leave.
 */
function directLeft(item: Item, old: Item | undefined): Mapped {
  const mark = count(item.hiddenUntilSeq);
  if (mark === undefined) return skip('member change by leave without a hidden mark');
  if (mark <= (count(old?.hiddenUntilSeq) ?? -1)) return skip('hidden mark did not move');
  const left = memberLeft({ kind: 'direct', ...item });
  return 'kind' in left ? left : { ...left, detail: { ...left.detail, hiddenUntilSeq: mark } };
}

/** A report (functions/adapters/report-store.ts): its copies of the messages are not in the event. */
function reportCreated(item: Item, options: MappingOptions): Mapped {
  const reportId = text(item.reportId);
  const reporterId = text(item.reporterId);
  const conversationId = text(item.conversationId);
  const reason = text(item.reason);
  const reportedAt = text(item.reportedAt);
  if (
    reportId === undefined ||
    reporterId === undefined ||
    conversationId === undefined ||
    reason === undefined ||
    reportedAt === undefined
  ) {
    return malformed('report item lacks a field of the report');
  }
  return {
    detailType: 'report.created',
    detail: {
      reportId,
      reporterId,
      conversationId,
      seq: count(item.seq),
      reason,
      messageCount: count(item.messageCount),
      reportedAt,
      note: options.content ? text(item.note) : undefined,
    },
  };
}

/**
 * One BLOCKEDBY item per (blocked, blocker) (functions/adapters/block-store.ts): put by a block, deleted
 * by an unblock. The contract has `user.blocked` only, so an unblock is `user.blocked` with
 * `blocked: false` (a rule that wants blocks alone matches `detail.blocked: [true]`).
 */
function userBlocked(item: Item, blocked: boolean): Mapped {
  const blockerId = text(item.blockerId);
  const blockedId = text(item.blockedId);
  if (blockerId === undefined || blockedId === undefined) return malformed('BLOCKEDBY item lacks its ids');
  return {
    detailType: 'user.blocked',
    detail: { blockerId, blockedId, blocked, ...(blocked && { at: text(item.at) }) },
  };
}

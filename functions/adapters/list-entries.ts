/**
 * The conversation list as stored (protocol.md 1.2): each member item (`CONV#{id}` / `MEMBER#{userId}`)
 * carries what its user's list entry shows, and the `inbox` index (partition `memberOf`, sort `listAt`)
 * orders a user's entries by their last change, so that a page of the list is one Query and a client
 * that reconnects reads only the pages that changed (docs/design.md, "The conversation list").
 *
 * Each change to an entry is a set of guarded parts, applied in one UpdateItem when every guard holds
 * (the usual case) and otherwise re-applied with only the parts the stored entry still lacks: message
 * deliveries, edits, reads and leaves arrive in any order and any number of times, and no part may move
 * a field backwards. Every update that shows something new also moves the entry: `changedAt` (exact)
 * and `listAt`, the index key, which is `changedAt` rounded down to a 10-minute bucket so that a busy
 * conversation rewrites its index entry in place (1 WRU) instead of moving it (2) on every message.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError } from '../domain/errors.ts';
import type { StoredMessage } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';

type Item = Record<string, unknown>;

/** The width of a `listAt` bucket. */
export const LIST_BUCKET_MS = 10 * 60_000;

/** The `listAt` of a change at `at` (ISO 8601): the start of its bucket, ISO 8601 too. */
export function listBucketOf(at: string): string {
  const time = Date.parse(at);
  return new Date(time - (time % LIST_BUCKET_MS)).toISOString();
}

/** The attributes an entry starts with (a new member item spreads them in). */
export function newEntryFields(
  conversation: { kind: 'direct' | 'group'; members: readonly string[]; title: string | null },
  userId: string,
  at: string,
): Item {
  const peer = conversation.kind === 'direct' ? conversation.members.find((id) => id !== userId) : undefined;
  return {
    memberOf: userId,
    kind: conversation.kind,
    members: [...conversation.members],
    title: conversation.title,
    changedAt: at,
    listAt: listBucketOf(at),
    ...(peer !== undefined && { peer, peerReadSeq: 0, peerDeliveredSeq: 0 }),
  };
}

/**
 * The message as the entry keeps it for `lastMessage`: what its frame shows, without the connection
 * that sent it.
 */
export function storedLastMessage(message: StoredMessage): Item {
  const { originConnectionId: _origin, ...kept } = message;
  return kept;
}

/** One guarded piece of an entry update. Placeholder names must be unique across the parts of one call. */
export interface EntryPart {
  /** `SET` clauses. */
  set: string[];
  /** `REMOVE` paths. */
  remove?: string[];
  /** Holds when the part still has to be applied; combined with AND. Empty: always applies. */
  guard: string;
  values: Record<string, unknown>;
  names?: Record<string, string>;
  /** The same test as `guard`, against the stored item a failed attempt returned. */
  stillApplies(stored: Item): boolean;
  /** False for a field the list does not show (the member's own `deliveredSeq`): it moves nothing. */
  shown?: boolean;
}

const MAX_ATTEMPTS = 6;

export interface EntryUpdate {
  conversationId: string;
  userId: string;
  parts: readonly EntryPart[];
  /** When the change happened: the entry moves to it. Undefined: the entry keeps its place (presence). */
  movedAt: string | undefined;
  /** `changedBy`: keeps the write out of the stream filter (definitions/stream.ts). */
  changedBy: string;
}

/**
 * Applies the parts that still apply. Returns the entry as it now stands (undefined when the member item
 * does not exist: a group left, or a creation that never wrote it).
 */
export async function updateEntry(update: EntryUpdate): Promise<Item | undefined> {
  let parts = update.parts;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (parts.length === 0) return undefined;
    const set = [...parts.flatMap((part) => part.set), 'changedBy = :entryChangedBy'];
    const movedAt = parts.some((part) => part.shown !== false) ? update.movedAt : undefined;
    if (movedAt !== undefined) set.push('changedAt = :entryChangedAt', 'listAt = :entryListAt');
    const remove = parts.flatMap((part) => part.remove ?? []);
    const names = Object.assign({}, ...parts.map((part) => part.names ?? {}));
    try {
      const { Attributes } = await dynamo.send(
        new UpdateCommand({
          TableName: TABLE_NAME,
          Key: keys.member(update.conversationId, update.userId),
          UpdateExpression: `SET ${set.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`,
          ConditionExpression: [
            'attribute_exists(PK)',
            ...parts.filter((part) => part.guard !== '').map((part) => `(${part.guard})`),
          ].join(' AND '),
          ExpressionAttributeValues: {
            ...Object.assign({}, ...parts.map((part) => part.values)),
            ':entryChangedBy': update.changedBy,
            ...(movedAt !== undefined && {
              ':entryChangedAt': movedAt,
              ':entryListAt': listBucketOf(movedAt),
            }),
          },
          ...(Object.keys(names).length > 0 && { ExpressionAttributeNames: names }),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return Attributes;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (error.Item === undefined) return undefined;
      const stored = unmarshall(error.Item);
      parts = parts.filter((part) => part.stillApplies(stored));
      if (parts.length === 0) return stored;
    }
  }
  throw new InternalError('the conversation list entry is too busy right now; retry');
}

const numberAt = (item: Item, name: string): number | undefined =>
  typeof item[name] === 'number' ? (item[name] as number) : undefined;

/** `lastMessage` becomes message `seq` unless the entry shows a newer one already. */
export function lastMessagePart(message: StoredMessage): EntryPart {
  return {
    set: ['lastMessage = :lastMessage'],
    guard: 'attribute_not_exists(lastMessage) OR lastMessage.#seq < :lastMessageSeq',
    values: { ':lastMessage': storedLastMessage(message), ':lastMessageSeq': message.seq },
    names: { '#seq': 'seq' },
    stillApplies: (stored) => {
      const last = stored.lastMessage as { seq?: unknown } | undefined;
      return typeof last?.seq !== 'number' || last.seq < message.seq;
    },
  };
}

/**
 * A change committed at `version` (an edit, a deletion, a reaction, a leave): the entry's
 * `changeVersion` moves up to it, with `also` (the members after a leave) in the same guard.
 */
export function changeVersionPart(
  version: number,
  also: Pick<EntryPart, 'set' | 'values'> = { set: [], values: {} },
): EntryPart {
  return {
    set: ['changeVersion = :changeVersion', ...also.set],
    guard: 'attribute_not_exists(changeVersion) OR changeVersion < :changeVersion',
    values: { ':changeVersion': version, ...also.values },
    stillApplies: (stored) => (numberAt(stored, 'changeVersion') ?? -1) < version,
  };
}

/** The changed message's new state, when it is the one the entry shows as `lastMessage`. */
export function changedLastMessagePart(message: StoredMessage, version: number): EntryPart {
  return {
    set: ['lastMessage = :changedMessage'],
    guard:
      'lastMessage.#seq = :changedSeq AND (attribute_not_exists(lastMessage.#version) OR lastMessage.#version < :changedVersion)',
    values: {
      ':changedMessage': storedLastMessage(message),
      ':changedSeq': message.seq,
      ':changedVersion': version,
    },
    names: { '#seq': 'seq', '#version': 'version' },
    stillApplies: (stored) => {
      const last = stored.lastMessage as { seq?: unknown; version?: unknown } | undefined;
      return last?.seq === message.seq && (typeof last.version !== 'number' || last.version < version);
    },
  };
}

/** A forward-only counter on the entry (`peerReadSeq`, `peerDeliveredSeq`, `deliveredSeq`, ...). */
export function counterPart(name: string, value: number): EntryPart {
  const placeholder = `:${name}`;
  return {
    set: [`${name} = ${placeholder}`],
    guard: `attribute_not_exists(${name}) OR ${name} < ${placeholder}`,
    values: { [placeholder]: value },
    stillApplies: (stored) => (numberAt(stored, name) ?? -1) < value,
  };
}

/**
 * The other user's presence on a direct entry, by the time it happened (`at`): a transition delivered
 * late never overwrites a newer one.
 */
export function peerPresencePart(
  status: 'online' | 'offline',
  at: string,
  /** When an offline user was last seen: `at` for a transition; as stored when consent introduces it. */
  lastSeen: string | null = at,
): EntryPart {
  return {
    set: [
      'peerStatus = :peerStatus',
      'peerPresenceAt = :peerPresenceAt',
      ...(status === 'offline' && lastSeen !== null ? ['peerLastSeen = :peerLastSeen'] : []),
    ],
    // (1.2) Only with consent (both users wrote), never while either blocks the other (block-store.ts
    // marks both entries).
    guard:
      '(attribute_not_exists(peerPresenceAt) OR peerPresenceAt < :peerPresenceAt) AND sent = :consented AND peerSent = :consented AND attribute_not_exists(blocking) AND attribute_not_exists(blockedByPeer)',
    values: {
      ':peerStatus': status,
      ':peerPresenceAt': at,
      ':consented': true,
      ...(status === 'offline' && lastSeen !== null && { ':peerLastSeen': lastSeen }),
    },
    stillApplies: (stored) =>
      (typeof stored.peerPresenceAt !== 'string' || stored.peerPresenceAt < at) && presenceFlows(stored),
  };
}

/** (1.2) A direct entry where either user blocks the other: no presence passes. */
export const isBlockedEntry = (item: Item): boolean => item.blocking === true || item.blockedByPeer === true;

/**
 * (1.2) Consent in a direct conversation (protocol.md, "Presence, typing and receipts need consent"):
 * both users have sent a message in it. Each member item carries both facts, `sent` (its user did) and
 * `peerSent` (the other did), set by delivery as it records each message, so one item answers.
 */
export const hasConsent = (item: { sent?: unknown; peerSent?: unknown }): boolean =>
  item.sent === true && item.peerSent === true;

/** (1.2) Presence, typing and receipts pass between the two users of this direct entry. */
export const presenceFlows = (item: Item): boolean => hasConsent(item) && !isBlockedEntry(item);

/**
 * (1.2) The entry's user wrote in a direct conversation that was a request for them (contact policy
 * `requests`): writing answers it, so it is one no longer (request-store.ts).
 */
export function answeredPart(): EntryPart {
  return {
    set: [],
    remove: ['pendingRequest'],
    guard: '',
    values: {},
    stillApplies: (stored) => stored.pendingRequest === true,
  };
}

/**
 * (1.2) Sets `flag` (`sent`, `peerSent`): it never fails the update it joins (no guard: setting it again
 * changes nothing) and shows nothing by itself.
 */
export function consentPart(flag: 'sent' | 'peerSent'): EntryPart {
  return {
    set: [`${flag} = :${flag}`],
    guard: '',
    values: { [`:${flag}`]: true },
    stillApplies: (stored) => stored[flag] !== true,
    shown: false,
  };
}

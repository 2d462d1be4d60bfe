/**
 * Presence (`USER#{userId}` / `PRESENCE`): `connections`, the set of the user's open connection ids,
 * kept by the delivery Lambda from the stream's records of connection items appearing and going.
 *
 * A set rather than a number, so that the count is atomic and idempotent: `ADD` of an id already there
 * and `DELETE` of one already gone change nothing, and each update returns the set as it was before, so
 * exactly one record sees it go from empty to one id (online) and from one id to empty (offline),
 * however many devices connect and close at once. A replayed stream record is refused by its sequence
 * number (`lastSequence`, increasing per item key in a stream): the replay of an INSERT whose REMOVE
 * was already applied would otherwise put the id back.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PresenceView } from '../domain/frames.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { batchGetItems } from './batch-get.ts';
import { keys } from './keys.ts';

export type PresenceChange = 'online' | 'offline' | 'none';

/** Stream sequence numbers are decimal strings of up to 40 digits: padded, they compare as strings. */
const SEQUENCE_DIGITS = 40;

export interface ConnectionChange {
  userId: string;
  connectionId: string;
  /** The stream record's SequenceNumber. */
  sequenceNumber: string;
  /** When it happened (ISO 8601). */
  at: string;
}

export async function recordOpened(change: ConnectionChange): Promise<PresenceChange> {
  const before = await apply(change, 'ADD connections :connection SET', ', changedAt = :at');
  if (before === undefined) return 'none';
  return before.size === 0 ? 'online' : 'none';
}

export async function recordClosed(change: ConnectionChange): Promise<PresenceChange> {
  const before = await apply(
    change,
    'DELETE connections :connection SET',
    ', changedAt = :at, lastSeen = :at',
  );
  if (before === undefined) return 'none';
  return before.size === 1 && before.has(change.connectionId) ? 'offline' : 'none';
}

/** The set before the update, or undefined when the record was applied before (a replay). */
async function apply(
  change: ConnectionChange,
  action: string,
  alsoSet: string,
): Promise<Set<string> | undefined> {
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.presence(change.userId),
        UpdateExpression: `${action} lastSequence = :sequence, #type = :type${alsoSet}`,
        ConditionExpression: 'attribute_not_exists(lastSequence) OR lastSequence < :sequence',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: {
          ':connection': new Set([change.connectionId]),
          ':sequence': change.sequenceNumber.padStart(SEQUENCE_DIGITS, '0'),
          ':type': 'presence',
          ':at': change.at,
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const connections = Attributes?.connections;
    return connections instanceof Set ? new Set([...connections].map(String)) : new Set();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}

/** A user's presence as it stands, and `since`: when their presence set last changed (epoch when never). */
export type StoredPresence = PresenceView & { since: string };

/**
 * Where each user stands now, for the conversation list (protocol.md 1.2): online while any connection
 * is open, else offline with the moment the last one closed (null for a user never seen). One
 * BatchGetItem, eventually consistent: a change a moment old also reaches the client as `presence`.
 */
export async function readPresence(userIds: readonly string[]): Promise<Map<string, StoredPresence>> {
  const unique = [...new Set(userIds)];
  const items = await batchGetItems(unique.map(keys.presence));
  const found = new Map(items.map((item) => [String(item.PK), item]));
  return new Map(
    unique.map((userId) => {
      const item = found.get(keys.presence(userId).PK);
      const connections = item?.connections;
      const online = connections instanceof Set && connections.size > 0;
      const lastSeen = typeof item?.lastSeen === 'string' ? item.lastSeen : null;
      const since = typeof item?.changedAt === 'string' ? item.changedAt : new Date(0).toISOString();
      return [
        userId,
        online ? { status: 'online', lastSeen: null, since } : { status: 'offline', lastSeen, since },
      ];
    }),
  );
}

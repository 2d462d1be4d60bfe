/**
 * Everything about a user that delivery needs lives in one partition (`USER#{userId}`): open
 * connections, registered devices and the user's state. One Query reads it all, so delivery costs grow
 * with the recipients' connections and devices, never with the size of the table.
 */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Connection, Device, Platform, UserState } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { FANOUT_LIMITS } from '../shared/config.ts';
import { batchGetItems } from './batch-get.ts';
import { CONNECTION_PREFIX, DEVICE_PREFIX, keys, userPartition } from './keys.ts';

export interface UserDirectoryEntry {
  userId: string;
  connections: Connection[];
  devices: Device[];
  state: UserState;
}

type Item = Record<string, unknown>;

const ACTIVE_USER: UserState = { deactivated: false, sessionsRevokedAt: undefined };

export function toUserState(item: Item | undefined): UserState {
  if (item === undefined) return ACTIVE_USER;
  return {
    deactivated: item.deactivated === true,
    sessionsRevokedAt: typeof item.sessionsRevokedAt === 'number' ? item.sessionsRevokedAt : undefined,
    ...(item.blocks instanceof Set && item.blocks.size > 0 && { blocks: stringSet(item.blocks) }),
  };
}

/** A string set as the document client reads it (a `Set`), kept to its strings. */
export function stringSet(value: unknown): ReadonlySet<string> {
  if (!(value instanceof Set)) return new Set();
  return new Set([...value].filter((entry): entry is string => typeof entry === 'string'));
}

export async function getUserState(userId: string): Promise<UserState> {
  const { Item } = await dynamo.send(new GetCommand({ TableName: TABLE_NAME, Key: keys.userState(userId) }));
  return toUserState(Item);
}

export async function loadUser(userId: string): Promise<UserDirectoryEntry> {
  const entry: UserDirectoryEntry = { userId, connections: [], devices: [], state: ACTIVE_USER };
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': userPartition(userId) },
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) addItem(entry, item);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return entry;
}

/**
 * One Query per user, at most FANOUT_LIMITS.parallelism in flight: a group of 100 is 7 rounds of 16
 * rather than 100 requests at once, which would queue on the client's sockets and run into the 2 s
 * request timeout (http-options.ts) under load. Results keep the order of `userIds`.
 */
export function loadUsers(userIds: readonly string[]): Promise<UserDirectoryEntry[]> {
  return mapConcurrently(userIds, FANOUT_LIMITS.parallelism, loadUser);
}

/**
 * The state of each user (active when they have no state item), by user id, eventually consistent like
 * getUserState.
 */
export async function getUserStates(userIds: readonly string[]): Promise<Map<string, UserState>> {
  const states = new Map<string, UserState>(userIds.map((userId) => [userId, ACTIVE_USER]));
  const items = await batchGetItems([...states.keys()].map(keys.userState), {
    projection: 'PK, deactivated, sessionsRevokedAt, blocks',
  });
  for (const item of items) states.set(String(item.PK).slice(userPartition('').length), toUserState(item));
  return states;
}

function addItem(entry: UserDirectoryEntry, item: Item): void {
  const sk = String(item.SK);
  if (sk.startsWith(CONNECTION_PREFIX)) {
    entry.connections.push({
      connectionId: String(item.connectionId),
      userId: entry.userId,
      deviceId: typeof item.deviceId === 'string' ? item.deviceId : undefined,
      connectedAt: String(item.connectedAt),
      ...(typeof item.storedAt === 'string' && { storedAt: item.storedAt }),
    });
  } else if (sk.startsWith(DEVICE_PREFIX)) {
    entry.devices.push({
      userId: entry.userId,
      deviceId: String(item.deviceId),
      platform: item.platform as Platform,
      token: String(item.token),
      endpointArn: String(item.endpointArn),
      registeredAt: String(item.registeredAt),
    });
  } else if (sk === 'STATE') {
    entry.state = toUserState(item);
  }
}

/**
 * The operators' writes to a user's standing: the state item (`USER#{userId}` / `STATE`:
 * `deactivated`, `sessionsRevokedAt`) and revoked tokens (`JTI#{jti}` / `JTI`), which the `$connect`
 * authorizer reads (functions/authorizer/revocation.ts). Each write is idempotent: repeating it leaves
 * the same state, and a sessions revocation never moves back in time.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Connection } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { CONNECTION_PREFIX, keys, userPartition } from './keys.ts';

export async function setDeactivated(userId: string, deactivated: boolean, changedAt: string): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.userState(userId),
      UpdateExpression: 'SET deactivated = :deactivated, changedAt = :at, #type = :type, userId = :user',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: {
        ':deactivated': deactivated,
        ':at': changedAt,
        ':type': 'userState',
        ':user': userId,
      },
    }),
  );
}

/** Tokens issued (`iat`) before `revokedAt` (epoch seconds) are refused from now on; never moved back. */
export async function revokeSessionsBefore(
  userId: string,
  revokedAt: number,
  changedAt: string,
): Promise<void> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.userState(userId),
        UpdateExpression:
          'SET sessionsRevokedAt = :revokedAt, changedAt = :at, #type = :type, userId = :user',
        ConditionExpression: 'attribute_not_exists(sessionsRevokedAt) OR sessionsRevokedAt < :revokedAt',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: {
          ':revokedAt': revokedAt,
          ':at': changedAt,
          ':type': 'userState',
          ':user': userId,
        },
      }),
    );
  } catch (error) {
    // Already revoked at this moment or later: nothing to do.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** Refuses the token `jti` until `expiresAt` (epoch seconds; TTL removes the item then). */
export async function revokeJti(jti: string, expiresAt: number, revokedAt: string): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: { ...keys.revokedToken(jti), type: 'revokedToken', revokedAt, expiresAt },
    }),
  );
}

/** Who connected with token `jti`, and until when it is valid, as `$connect` recorded it. */
export async function tokenUse(jti: string): Promise<{ userId: string; expiresAt: number } | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.tokenUse(jti), ConsistentRead: true }),
  );
  if (Item === undefined || typeof Item.userId !== 'string') return undefined;
  return { userId: Item.userId, expiresAt: Number(Item.expiresAt) };
}

/** The user's open connections (strongly consistent: one just opened must be closed too). */
export async function openConnections(userId: string): Promise<Connection[]> {
  const connections: Connection[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :conn)',
        ExpressionAttributeValues: { ':pk': userPartition(userId), ':conn': CONNECTION_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      connections.push({
        connectionId: String(item.connectionId),
        userId,
        deviceId: typeof item.deviceId === 'string' ? item.deviceId : undefined,
        connectedAt: String(item.connectedAt),
        ...(typeof item.jti === 'string' && { jti: item.jti }),
      });
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return connections;
}

/** Connection items: `USER#{userId}` / `CONN#{connectionId}`, one per open WebSocket. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Connection } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';

/**
 * API Gateway closes every connection after 2 hours; the TTL sits an hour past that, so a connection
 * whose `$disconnect` never ran (crash, throttling) is removed by DynamoDB even if no 410 ever finds it.
 */
export const CONNECTION_TTL_SECONDS = 3 * 60 * 60;

export async function saveConnection(connection: Connection, now: Date): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        ...keys.connection(connection.userId, connection.connectionId),
        type: 'connection',
        connectionId: connection.connectionId,
        userId: connection.userId,
        deviceId: connection.deviceId,
        connectedAt: connection.connectedAt,
        storedAt: now.toISOString(),
        ...(connection.jti !== undefined && { jti: connection.jti }),
        expiresAt: Math.floor(now.getTime() / 1000) + CONNECTION_TTL_SECONDS,
      },
    }),
  );
}

/**
 * Which user a token (by `jti`) connected as, kept until the token expires (`JTI#{jti}` / `USE`), so
 * that revoking the token can find and close its connections. Tokens without `exp` are kept as long as
 * a connection can live.
 */
export async function recordTokenUse(
  jti: string,
  userId: string,
  tokenExpiresAt: number | undefined,
  now: Date,
) {
  const nowSeconds = Math.floor(now.getTime() / 1000);
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        ...keys.tokenUse(jti),
        type: 'tokenUse',
        userId,
        expiresAt: Math.max(tokenExpiresAt ?? 0, nowSeconds + CONNECTION_TTL_SECONDS),
      },
    }),
  );
}

/**
 * Asks for the connection to be closed: the stream carries the change to the delivery Lambda, which
 * holds the `@connections` grant the frame routes do not (definitions/stream.ts). Nothing when the
 * connection item is gone already.
 */
export async function requestClose(
  userId: string,
  connectionId: string,
  reason: 'token_expired',
): Promise<void> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.connection(userId, connectionId),
        UpdateExpression: 'SET closeRequested = :reason',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':reason': reason },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/** Idempotent: deleting a connection that is already gone is not an error. */
export async function deleteConnection(userId: string, connectionId: string): Promise<void> {
  await dynamo.send(new DeleteCommand({ TableName: TABLE_NAME, Key: keys.connection(userId, connectionId) }));
}

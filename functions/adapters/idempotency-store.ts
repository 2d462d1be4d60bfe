/**
 * The server API's `Idempotency-Key` (integration.md): a retry with the same key answers what the first
 * request answered. One item per key (`IDEMPOTENCY#{key}` / `ANSWER`), kept a day (TTL):
 * - `claim` puts it `pending`, with a fingerprint of the request (method, path, body), if no request
 *   holds the key; a pending claim older than a Lambda's longest run is taken over (its request died);
 * - `complete` stores the answer; `release` drops the claim of a request that failed (500), so that its
 *   retry runs again.
 * The operations behind it are idempotent themselves (a message by its `clientMessageId`, a group by its
 * creation receipt), so a request taken over or run twice never writes twice.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';

/** A stored answer: the status and JSON body the first request got. */
export interface StoredAnswer {
  readonly statusCode: number;
  readonly body: string;
}

export type Claim =
  | { readonly kind: 'claimed' }
  /** The first request's answer. */
  | { readonly kind: 'answered'; readonly answer: StoredAnswer }
  /** Another request with this key is running now. */
  | { readonly kind: 'in_progress' }
  /** The key was used for another request (another path, method or body). */
  | { readonly kind: 'mismatch' };

/** Longer than any request may run (the function's timeout): a claim this old belongs to a dead request. */
const STALE_CLAIM_MS = 60_000;

export async function claim(key: string, fingerprint: string, now: Date, ttlSeconds: number): Promise<Claim> {
  const item = {
    ...keys.idempotency(key),
    type: 'idempotency',
    state: 'pending',
    fingerprint,
    claimedAt: now.getTime(),
    expiresAt: Math.ceil(now.getTime() / 1000) + ttlSeconds,
  };
  try {
    await dynamo.send(
      new PutCommand({
        TableName: TABLE_NAME,
        Item: item,
        ConditionExpression:
          'attribute_not_exists(PK) OR (#state = :pending AND claimedAt < :stale AND fingerprint = :fingerprint)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':pending': 'pending',
          ':stale': now.getTime() - STALE_CLAIM_MS,
          ':fingerprint': fingerprint,
        },
      }),
    );
    return { kind: 'claimed' };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.idempotency(key), ConsistentRead: true }),
  );
  // Released between the two calls: the caller's retry will claim it.
  if (Item === undefined) return { kind: 'in_progress' };
  if (Item.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (Item.state === 'done') {
    return { kind: 'answered', answer: { statusCode: Number(Item.statusCode), body: String(Item.body) } };
  }
  return { kind: 'in_progress' };
}

export async function complete(key: string, answer: StoredAnswer): Promise<void> {
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.idempotency(key),
      UpdateExpression: 'SET #state = :done, statusCode = :status, body = :body',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':done': 'done', ':status': answer.statusCode, ':body': answer.body },
    }),
  );
}

export async function release(key: string): Promise<void> {
  await dynamo
    .send(
      new DeleteCommand({
        TableName: TABLE_NAME,
        Key: keys.idempotency(key),
        ConditionExpression: '#state = :pending',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':pending': 'pending' },
      }),
    )
    .catch((error: unknown) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
}

/**
 * How many times delivery has tried one stream record: an item per record that failed at least once
 * (a record that succeeds first time writes nothing), so delivery itself decides when to stop retrying
 * and records the message's identity in the on-failure queue, before the event source mapping would
 * give up with only a stream pointer.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';

/** A day past the stream's own 24-hour retention: no record can be retried after that. */
const ATTEMPTS_TTL_SECONDS = 2 * 24 * 60 * 60;

/** Counts this attempt; returns how many attempts, this one included, have failed. */
export async function countFailedAttempt(eventId: string, now: Date): Promise<number> {
  const { Attributes } = await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.deliveryAttempts(eventId),
      UpdateExpression: 'ADD attempts :one SET #type = :type, expiresAt = if_not_exists(expiresAt, :ttl)',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: {
        ':one': 1,
        ':type': 'deliveryAttempts',
        ':ttl': Math.floor(now.getTime() / 1000) + ATTEMPTS_TTL_SECONDS,
      },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return typeof Attributes?.attempts === 'number' ? Attributes.attempts : 1;
}

/**
 * BatchGetItem on the one table, done completely: keys in calls of at most 100 (DynamoDB's limit), and
 * the keys DynamoDB leaves unprocessed (throttling) asked for again after a short back-off, a few times,
 * before the call fails. Items come back in no particular order; absent keys are simply missing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import type { ItemKey } from './keys.ts';

type Item = Record<string, unknown>;

/** BatchGetItem takes at most 100 keys per call. */
const BATCH_GET_LIMIT = 100;
/** Back-off before re-asking for unprocessed keys; then the call fails (a 500 / a retried record). */
const UNPROCESSED_RETRY_DELAYS_MS = [25, 100, 250];

export interface BatchGetOptions {
  consistent?: boolean;
  /** Attributes to return; include PK and SK when the caller matches items to keys. */
  projection?: string;
}

export async function batchGetItems(
  wanted: readonly ItemKey[],
  options: BatchGetOptions = {},
): Promise<Item[]> {
  const found: Item[] = [];
  for (let start = 0; start < wanted.length; start += BATCH_GET_LIMIT) {
    found.push(...(await batchGetAll(wanted.slice(start, start + BATCH_GET_LIMIT), options)));
  }
  return found;
}

async function batchGetAll(wanted: ItemKey[], options: BatchGetOptions): Promise<Item[]> {
  const found: Item[] = [];
  let pending = wanted;
  for (const delay of [0, ...UNPROCESSED_RETRY_DELAYS_MS]) {
    if (delay > 0) await sleep(delay);
    const output = await dynamo.send(
      new BatchGetCommand({
        RequestItems: {
          [TABLE_NAME]: {
            Keys: pending,
            ...(options.consistent === true && { ConsistentRead: true }),
            ...(options.projection !== undefined && { ProjectionExpression: options.projection }),
          },
        },
      }),
    );
    found.push(...(output.Responses?.[TABLE_NAME] ?? []));
    const unprocessed = output.UnprocessedKeys?.[TABLE_NAME]?.Keys ?? [];
    if (unprocessed.length === 0) return found;
    pending = unprocessed.map((key) => ({ PK: String(key.PK), SK: String(key.SK) }));
  }
  throw new Error(`BatchGetItem left ${pending.length} key(s) unprocessed after retries`);
}

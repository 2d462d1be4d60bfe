/**
 * Rate buckets (`RATE#{userId}` / `{action}`), one per user and limited action, shared by every Lambda
 * container through DynamoDB. The algorithm is GCRA (the "generic cell rate algorithm", a token bucket
 * that stores one number): `tat`, the theoretical arrival time of the next request. A request at
 * `now` is allowed when max(tat, now) + interval − now ≤ burst × interval, and then moves tat forward by
 * one interval. Both cases are single conditional UpdateItems, never read-then-write:
 * - idle (tat ≤ now): `SET tat = :now + :interval`, if `tat ≤ :now` (or no bucket yet);
 * - busy (tat > now): `SET tat = tat + :interval`, if `tat ≤ :now + burst × interval − interval`. It
 *   does not also require `tat > :now`: a bucket seen busy a moment ago that drained meanwhile would
 *   then flip the request back to the idle case, again and again while many requests of one user race;
 *   without it such a request is counted from a `tat` a few milliseconds old, which the limit absorbs.
 * Concurrent requests each add their interval atomically and each checks the limit against the value
 * it moved, so containers together let through at most the configured rate, and a failed condition
 * returns the bucket (ALL_OLD) to decide the next step without another read. Each container remembers
 * the last `tat` it saw per bucket, to try the likely case first: a user sending at a human pace costs
 * one write per request.
 *
 * A failed condition reads the clock again before it decides. Concurrent requests read their `now`
 * when they start, not when their write lands: one that started first but wrote second would
 * otherwise measure an idle write's fresh `tat` against an older `now`, and be refused by the few
 * milliseconds between the two starts.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';

export interface RateLimit {
  /** Milliseconds per request at the sustained rate (100 for 10 a second, 20,000 for 3 a minute). */
  intervalMs: number;
  burst: number;
}

export type Admission = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Tries per request before it is refused as contended. A try is lost only when another request moved
 * the bucket between this one's guess and its write (each loss means another request got in), so
 * this is reached only by many concurrent requests of one user while the clock crosses `tat`.
 */
const MAX_TRIES = 8;
/** A bucket left alone this long is forgotten (TTL): it would be full again anyway. */
const BUCKET_TTL_SECONDS = 3600;
const HINT_CAPACITY = 10_000;

export type Admit = (userId: string, action: string, limit: RateLimit, now: number) => Promise<Admission>;

/**
 * One container's limiter: its own hints (tests make several, to be several containers) and its clock
 * (tests give a simulated one). The default looks `Date` up at each call, so that it is the clock the
 * routes read their `now` from, faked timers included.
 */
export function createAdmit(clock: () => number = () => Date.now()): Admit {
  const lastSeen = new Map<string, number>();
  const remember = (hintKey: string, tat: number): void => {
    if (lastSeen.size >= HINT_CAPACITY) lastSeen.clear();
    lastSeen.set(hintKey, tat);
  };
  return (userId, action, limit, now) => admitWith(lastSeen, remember, clock, userId, action, limit, now);
}

/** This container's limiter. */
export const admit: Admit = createAdmit();

async function admitWith(
  lastSeen: ReadonlyMap<string, number>,
  remember: (hintKey: string, tat: number) => void,
  clock: () => number,
  userId: string,
  action: string,
  limit: RateLimit,
  startedAt: number,
): Promise<Admission> {
  const interval = limit.intervalMs;
  let now = startedAt;
  // The latest `tat` at which one more request still fits in the burst.
  const latestAt = (at: number) => at + limit.burst * interval - interval;
  const hintKey = `${userId}\n${action}`;
  let busy = (lastSeen.get(hintKey) ?? 0) > now;
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const outcome = busy
      ? await update(
          userId,
          action,
          'SET tat = tat + :interval, expiresAt = :expiresAt',
          'attribute_exists(tat) AND tat <= :latest',
          { ':interval': interval, ':latest': latestAt(now) },
          now,
        )
      : await update(
          userId,
          action,
          'SET tat = :next, expiresAt = :expiresAt',
          'attribute_not_exists(tat) OR tat <= :now',
          {
            ':next': now + interval,
            ':now': now,
          },
          now,
        );
    if (outcome.updated) {
      remember(hintKey, outcome.tat);
      return { allowed: true };
    }
    remember(hintKey, outcome.tat);
    now = Math.max(now, clock());
    const latest = latestAt(now);
    if (outcome.tat > latest) {
      // One more fits once `tat` is back to `latest`, which moves with the clock.
      return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(outcome.tat - latest)) };
    }
    // Busy when it was at this request's start: judged by the clock read since, a bucket that keeps
    // moving ahead of it would flip the request between the two cases on every try.
    busy = outcome.tat > startedAt;
  }
  // Lost every try to concurrent requests of the same user: each of those was let in instead.
  return { allowed: false, retryAfterMs: Math.ceil(interval) };
}

async function update(
  userId: string,
  action: string,
  expression: string,
  condition: string,
  values: Record<string, number>,
  now: number,
): Promise<{ updated: boolean; tat: number }> {
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.rateBucket(userId, action),
        UpdateExpression: `${expression}, #type = :type`,
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: {
          ...values,
          ':type': 'rateBucket',
          ':expiresAt': Math.ceil(now / 1000) + BUCKET_TTL_SECONDS,
        },
        ReturnValues: 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { updated: true, tat: Number(Attributes?.tat) };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const item = error.Item === undefined ? {} : unmarshall(error.Item);
    return { updated: false, tat: typeof item.tat === 'number' ? item.tat : 0 };
  }
}

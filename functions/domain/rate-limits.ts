/**
 * The one check every action that writes makes before it does anything that costs (protocol.md 1.2,
 * "Limits on every write"): the user's limit for that action (definitions/rate-limits.ts), as this
 * deployment configured it (shared/config.ts).
 */
import type { LimitedAction } from '../../definitions/rate-limits.ts';
import { admit } from '../adapters/rate-buckets.ts';
import { RATE_LIMITS } from '../shared/config.ts';
import { RateLimitedError } from './errors.ts';

export type { LimitedAction } from '../../definitions/rate-limits.ts';

const UNIT_MS = { second: 1000, minute: 60_000 } as const;

/**
 * Lets the request through, or throws `rate_limited` with how long to wait. Called after the frame's
 * own checks (which cost nothing) and before any read or write, so a refused request has done nothing
 * but ask (a refused send stores nothing, and its clientMessageId is still unused).
 */
export async function requireWithinRate(userId: string, action: LimitedAction, now: Date): Promise<void> {
  const { rate, per, burst } = RATE_LIMITS[action];
  const admission = await admit(userId, action, { intervalMs: UNIT_MS[per] / rate, burst }, now.getTime());
  if (!admission.allowed) {
    throw new RateLimitedError(
      `more than ${rate} ${action} a ${per}; retry after ${admission.retryAfterMs} ms`,
      admission.retryAfterMs,
    );
  }
}

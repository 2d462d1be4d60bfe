/**
 * The one check the routes call before they do anything that costs: the per-user limits on sending
 * and typing (definitions/rate-limits.ts), as this deployment configured them (shared/config.ts).
 */
import { admit } from '../adapters/rate-buckets.ts';
import { RATE_LIMITS } from '../shared/config.ts';
import { RateLimitedError } from './errors.ts';

export type LimitedAction = keyof typeof RATE_LIMITS;

/**
 * Lets the request through, or throws `rate_limited` with how long to wait. A refused request has done
 * nothing (a refused send stores nothing, and its clientMessageId is still unused).
 */
export async function requireWithinRate(userId: string, action: LimitedAction, now: Date): Promise<void> {
  const admission = await admit(userId, action, RATE_LIMITS[action], now.getTime());
  if (!admission.allowed) {
    throw new RateLimitedError(
      `more than ${RATE_LIMITS[action].perSecond} ${action} a second; retry after ${admission.retryAfterMs} ms`,
      admission.retryAfterMs,
    );
  }
}

/**
 * The per-user limits on sending and typing (definitions/rate-limits.ts) as this deployment configured
 * them, read at cold start, and the one check the routes call before they do anything that costs.
 */
import { RATE_LIMIT_SETTINGS, type RateLimitSetting } from '../../definitions/rate-limits.ts';
import { admit, type RateLimit } from '../adapters/rate-buckets.ts';
import { positiveIntegerEnv } from '../shared/env.ts';
import { RateLimitedError } from './errors.ts';

const read = (setting: RateLimitSetting): number =>
  positiveIntegerEnv(RATE_LIMIT_SETTINGS[setting].env, RATE_LIMIT_SETTINGS[setting].default);

export const RATE_LIMITS = {
  sendMessage: { perSecond: read('sendPerSecond'), burst: read('sendBurst') },
  typing: { perSecond: read('typingPerSecond'), burst: read('typingBurst') },
} as const satisfies Record<string, RateLimit>;

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

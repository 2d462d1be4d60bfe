/**
 * What the domain and delivery take from the environment, read once, at import: a misconfigured
 * function fails at cold start with a message naming the variable (env.ts), and the domain code stays
 * free of `process.env`. Settings a deployment chooses have their names and defaults in definitions/
 * (fanout.ts, rate-limits.ts), which the CDK stack and the local stack read too.
 */
import {
  CONTACT_POLICIES,
  CONTACT_POLICY_SETTING,
  type ContactPolicy,
  isContactPolicy,
} from '../../definitions/contact-policy.ts';
import { FANOUT_SETTINGS, type FanoutSetting } from '../../definitions/fanout.ts';
import {
  type LimitedAction,
  RATE_LIMIT_SETTINGS,
  RATE_LIMITED_ACTIONS,
  type RateLimitSetting,
} from '../../definitions/rate-limits.ts';
import { optionalEnv, positiveIntegerEnv } from './env.ts';

const fanout = (setting: FanoutSetting): number =>
  positiveIntegerEnv(FANOUT_SETTINGS[setting].env, FANOUT_SETTINGS[setting].default);

const limitSetting = (setting: RateLimitSetting): number =>
  positiveIntegerEnv(RATE_LIMIT_SETTINGS[setting].env, RATE_LIMIT_SETTINGS[setting].default);

/** The fan-out bounds: per-user caps (functions/delivery/per-user-caps.ts) and calls in flight. */
export const FANOUT_LIMITS = {
  maxConnectionsPerUser: fanout('maxConnectionsPerUser'),
  maxDevicesPerUser: fanout('maxDevicesPerUser'),
  parallelism: fanout('parallelism'),
} as const;

/** A limit as configured: `rate` requests a `per`, after a burst of `burst`. */
export interface ConfiguredRateLimit {
  readonly rate: number;
  readonly per: 'second' | 'minute';
  readonly burst: number;
}

/** The per-user limit of every limited action (functions/domain/rate-limits.ts applies them). */
export const RATE_LIMITS = Object.fromEntries(
  Object.entries(RATE_LIMITED_ACTIONS).map(([action, limit]) => [
    action,
    { rate: limitSetting(limit.rate), per: limit.per, burst: limitSetting(limit.burst) },
  ]),
) as Record<LimitedAction, ConfiguredRateLimit>;

/** Bytes of uploads one user may request per UTC day (functions/domain/request-upload.ts). */
export const UPLOAD_BYTES_PER_DAY = limitSetting('uploadMiBPerDay') * 1024 * 1024;

/** (1.2) Who may start a conversation with whom (definitions/contact-policy.ts). */
export const CONTACT_POLICY: ContactPolicy = contactPolicyEnv();

function contactPolicyEnv(): ContactPolicy {
  const { env, default: fallback } = CONTACT_POLICY_SETTING;
  const raw = optionalEnv(env) ?? fallback;
  if (!isContactPolicy(raw)) {
    throw new Error(`Environment variable ${env} must be ${CONTACT_POLICIES.join(' or ')}, got "${raw}"`);
  }
  return raw;
}

/**
 * How long after `$connect` stored a connection item the socket may still not be open
 * (functions/delivery/fanout.ts): `$connect` returns right after the write (unless its other write is
 * retried), and API Gateway opens the socket at once. `CONNECT_WINDOW_MS` widens it only for tests that
 * hold a `$connect` open on purpose.
 */
export const STORED_WINDOW_MS = positiveIntegerEnv('CONNECT_WINDOW_MS', 5_000);

/**
 * How long a download link is valid: an hour by default (short-lived, yet long enough to scroll back
 * through a conversation); `ATTACHMENT_URL_SECONDS` overrides it (the e2e test waits one out).
 * In AWS a presigned URL also stops working when the signing role's session ends, which for a
 * Lambda is at the earliest about that long after its container started.
 */
export const DOWNLOAD_URL_SECONDS = positiveIntegerEnv('ATTACHMENT_URL_SECONDS', 60 * 60);

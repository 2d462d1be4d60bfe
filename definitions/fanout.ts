/**
 * Bounds on delivery fan-out, configurable per deployment (CDK context, see lib/config.ts) and read by
 * the handlers from these environment variables. A user's connections and devices are otherwise
 * unbounded (every app install and browser tab adds one), and one message would post to all of them.
 */
export const FANOUT_SETTINGS = {
  /** Connections posted to per user: the newest ones; older ones are closed and forgotten. */
  maxConnectionsPerUser: { env: 'MAX_CONNECTIONS_PER_USER', context: 'maxConnectionsPerUser', default: 20 },
  /** Devices pushed to per user: the most recently registered; older registrations are removed. */
  maxDevicesPerUser: { env: 'MAX_DEVICES_PER_USER', context: 'maxDevicesPerUser', default: 10 },
  /** `PostToConnection` / SNS `Publish` calls in flight at once per message. */
  parallelism: { env: 'FANOUT_PARALLELISM', context: 'fanoutParallelism', default: 16 },
} as const;

export type FanoutSetting = keyof typeof FANOUT_SETTINGS;

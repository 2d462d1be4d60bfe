/** The fan-out bounds (definitions/fanout.ts) as this deployment configured them, read at cold start. */
import { FANOUT_SETTINGS, type FanoutSetting } from '../../definitions/fanout.ts';
import { positiveIntegerEnv } from '../shared/env.ts';

const read = (setting: FanoutSetting): number =>
  positiveIntegerEnv(FANOUT_SETTINGS[setting].env, FANOUT_SETTINGS[setting].default);

export const FANOUT_LIMITS = {
  maxConnectionsPerUser: read('maxConnectionsPerUser'),
  maxDevicesPerUser: read('maxDevicesPerUser'),
  parallelism: read('parallelism'),
} as const;

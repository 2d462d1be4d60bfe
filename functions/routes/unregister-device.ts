import * as z from 'zod/mini';
import { unregisterDevice } from '../domain/devices.ts';
import { defineRoute } from '../shared/ws-route.ts';

/** Stops pushes to the connection's device (its `deviceId`); the frame carries nothing else. */
export const handler = defineRoute(
  'unregisterDevice',
  z.object({ action: z.literal('unregisterDevice') }),
  ({ caller, receivedAt }) => unregisterDevice(caller, receivedAt),
);

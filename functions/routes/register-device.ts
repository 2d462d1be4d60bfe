import { registerDevice } from '../domain/devices.ts';
import { registerDeviceFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

/** Ties the connection's device (its `deviceId`) to an SNS push endpoint for the given token. */
export const handler = defineRoute('registerDevice', registerDeviceFrame, ({ frame, caller, receivedAt }) =>
  registerDevice({ caller, platform: frame.platform, token: frame.token, now: receivedAt }),
);

/**
 * Push registrations: which SNS endpoint a user's device receives pushes on. The device id comes from
 * the connection (the authorizer's context), never from the frame, so a client can only ever register
 * or remove its own install.
 */
import {
  claimToken,
  type DeviceOwner,
  deleteDevice,
  deleteDeviceIfEndpoint,
  deleteDeviceIfToken,
  putDevice,
  releaseTokenClaim,
} from '../adapters/device-store.ts';
import {
  deletePlatformEndpoint,
  ensurePlatformEndpoint,
  platformApplicationArn,
} from '../adapters/push-endpoints.ts';
import { logger } from '../shared/logger.ts';
import { BadRequestError } from './errors.ts';
import type { ActionAckFrame } from './frames.ts';
import type { Caller, Device, Platform } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface RegisterDeviceInput {
  caller: Caller;
  platform: Platform;
  token: string;
  now: Date;
}

function ownerOf(caller: Caller, action: string): DeviceOwner {
  if (caller.deviceId === undefined) {
    throw new BadRequestError(`${action} needs a deviceId on the connection (connect with ?deviceId=...)`);
  }
  return { userId: caller.userId, deviceId: caller.deviceId };
}

const sameOwner = (a: DeviceOwner, b: DeviceOwner): boolean =>
  a.userId === b.userId && a.deviceId === b.deviceId;

/**
 * Idempotent: registering the same token again finds the same endpoint and writes the same items. A
 * token another device held is taken over (its device item goes, the endpoint stays: it is now ours);
 * a token this device held before (rotated by the platform) is released and its endpoint deleted.
 */
export async function registerDevice(input: RegisterDeviceInput): Promise<ActionAckFrame> {
  const { platform, token } = input;
  const owner = ownerOf(input.caller, 'registerDevice');
  const applicationArn = platformApplicationArn(platform);
  if (applicationArn === undefined) throw new BadRequestError(`platform not configured: ${platform}`);
  // Before SNS: a script re-registering in a loop would otherwise cost an SNS call each time.
  await requireWithinRate(owner.userId, 'registerDevice', input.now);

  const endpointArn = await ensurePlatformEndpoint(applicationArn, token, JSON.stringify(owner));
  const device: Device = { ...owner, platform, token, endpointArn, registeredAt: input.now.toISOString() };
  const [previousHolder, previousDevice] = await Promise.all([
    claimToken(platform, token, owner),
    putDevice(device),
  ]);

  const cleanups: Promise<unknown>[] = [];
  if (previousHolder !== undefined && !sameOwner(previousHolder, owner)) {
    logger.info('push token taken over from another device', {
      previousUserId: previousHolder.userId,
      previousDeviceId: previousHolder.deviceId,
    });
    cleanups.push(deleteDeviceIfToken(previousHolder, platform, token));
  }
  if (
    previousDevice !== undefined &&
    (previousDevice.platform !== platform || previousDevice.token !== token)
  ) {
    logger.info('push token rotated, releasing the previous one', { deviceId: owner.deviceId });
    cleanups.push(releaseEndpoint(previousDevice, owner));
  } else if (previousDevice !== undefined && previousDevice.endpointArn !== endpointArn) {
    // Same token, new endpoint (the old one was deleted in SNS): nothing else refers to the old ARN.
    cleanups.push(deletePlatformEndpoint(previousDevice.endpointArn));
  }
  await Promise.all(cleanups);
  logger.info('device registered', { deviceId: owner.deviceId, platform });
  return { type: 'ack', action: 'registerDevice' };
}

/** Idempotent: a device that is not registered is acknowledged all the same. */
export async function unregisterDevice(caller: Caller, now: Date): Promise<ActionAckFrame> {
  const owner = ownerOf(caller, 'unregisterDevice');
  await requireWithinRate(owner.userId, 'unregisterDevice', now);
  const device = await deleteDevice(owner.userId, owner.deviceId);
  if (device !== undefined) await releaseEndpoint(device, owner);
  logger.info('device unregistered', { deviceId: owner.deviceId, wasRegistered: device !== undefined });
  return { type: 'ack', action: 'unregisterDevice' };
}

/**
 * Removes a device whose endpoint can no longer receive pushes (SNS disabled or lost it). Conditional
 * on the endpoint: a re-registration that raced in keeps its new item.
 */
export async function removeDeadDevice(device: Device): Promise<void> {
  const owner = { userId: device.userId, deviceId: device.deviceId };
  await deleteDeviceIfEndpoint(owner, device.endpointArn);
  await releaseEndpoint(device, owner);
}

/** Drops the device's token claim and, unless another device holds that token now, its endpoint. */
async function releaseEndpoint(device: Device, owner: DeviceOwner): Promise<void> {
  const claim = await releaseTokenClaim(device.platform, device.token, owner);
  if (claim !== 'held_by_other') await deletePlatformEndpoint(device.endpointArn);
}

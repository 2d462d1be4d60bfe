/**
 * Mobile push for a recipient with no open connection: one SNS Publish per registered device, badged
 * with the user's total unread count, at most once per (message, device) however often the stream
 * retries (push receipts). A device whose endpoint is gone is removed, not retried.
 */
import { failureClass } from '../adapters/aws-errors.ts';
import { claimPush, releasePush } from '../adapters/push-receipts.ts';
import { publishPush } from '../adapters/push-sender.ts';
import { listUnread } from '../adapters/unread-store.ts';
import type { UserDirectoryEntry } from '../adapters/user-directory.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { logger } from '../shared/logger.ts';
import { badgeCount, type UnreadEntry } from './badge.ts';
import type { TargetFailure } from './delivery-report.ts';
import { removeDeadDevice } from './devices.ts';
import { FANOUT_LIMITS } from './fanout-limits.ts';
import type { Device, StoredMessage } from './model.ts';
import { buildPushNotification, type PushConversation, snsPushMessage } from './push-notification.ts';

export interface PushOutcome {
  pushed: number;
  /** Devices that already had this message's push from an earlier attempt of the record. */
  alreadyPushed: number;
  devicesRemoved: number;
  failures: TargetFailure[];
}

type DeviceOutcome = 'pushed' | 'already_pushed' | 'removed' | TargetFailure;

/**
 * `cursor` is the recipient's member item as delivery's own update returned it: fresher than the
 * unread index, which is updated asynchronously. Every device is tried; failures are returned,
 * classified, with their push receipt released so that a retry of the record can push them.
 */
export async function notifyOffline(
  recipient: UserDirectoryEntry,
  cursor: UnreadEntry | undefined,
  message: StoredMessage,
  senderName: string | undefined,
  now: Date,
  conversation?: PushConversation,
): Promise<PushOutcome> {
  const badge = badgeCount(await listUnread(recipient.userId), cursor);
  const push = buildPushNotification(message, senderName, badge, conversation);
  const outcomes = await mapConcurrently(
    recipient.devices,
    FANOUT_LIMITS.parallelism,
    async (device): Promise<DeviceOutcome> => {
      if (!(await claimPush(message, device, now))) return 'already_pushed';
      try {
        if ((await publishPush(device.endpointArn, snsPushMessage(device.platform, push))) === 'sent') {
          return 'pushed';
        }
      } catch (error) {
        return releaseAfterFailure(message, device, error);
      }
      logger.info('push endpoint gone, removing the device', {
        recipientId: recipient.userId,
        deviceId: device.deviceId,
      });
      await removeDeadDevice(device);
      return 'removed';
    },
  );
  const outcome: PushOutcome = { pushed: 0, alreadyPushed: 0, devicesRemoved: 0, failures: [] };
  for (const result of outcomes) {
    if (result === 'pushed') outcome.pushed += 1;
    else if (result === 'already_pushed') outcome.alreadyPushed += 1;
    else if (result === 'removed') outcome.devicesRemoved += 1;
    else outcome.failures.push(result);
  }
  return outcome;
}

async function releaseAfterFailure(
  message: StoredMessage,
  device: Device,
  error: unknown,
): Promise<TargetFailure> {
  const kind = failureClass(error);
  logger.warn('push failed', {
    recipientId: device.userId,
    deviceId: device.deviceId,
    failureClass: kind,
    error,
  });
  // A permanent failure (SNS refusing our permissions or payload) stays claimed: retrying it is pointless.
  if (kind === 'transient') {
    await releasePush(message, device).catch((releaseError: unknown) => {
      logger.error('push receipt could not be released; a retry will not push this device', {
        deviceId: device.deviceId,
        error: releaseError,
      });
    });
  }
  return { userId: device.userId, deviceId: device.deviceId, kind, error };
}

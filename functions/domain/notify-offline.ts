/**
 * Mobile push for a recipient with no open connection: one SNS Publish per registered device, badged
 * with the user's total unread count. A device whose endpoint is gone is removed, not retried.
 */
import { publishPush } from '../adapters/push-sender.ts';
import { listUnread } from '../adapters/unread-store.ts';
import type { UserDirectoryEntry } from '../adapters/user-directory.ts';
import { logger } from '../shared/logger.ts';
import { badgeCount, type UnreadEntry } from './badge.ts';
import { removeDeadDevice } from './devices.ts';
import type { StoredMessage } from './model.ts';
import { buildPushNotification, snsPushMessage } from './push-notification.ts';

export interface PushOutcome {
  pushed: number;
  devicesRemoved: number;
}

/**
 * `cursor` is the recipient's member item as delivery's own update returned it: fresher than the
 * unread index, which is updated asynchronously. Throws (so the record is retried) when a publish
 * fails for a reason other than a dead endpoint; the other devices are still tried first.
 */
export async function notifyOffline(
  recipient: UserDirectoryEntry,
  cursor: UnreadEntry | undefined,
  message: StoredMessage,
  senderName: string | undefined,
): Promise<PushOutcome> {
  const badge = badgeCount(await listUnread(recipient.userId), cursor);
  const push = buildPushNotification(message, senderName, badge);
  const results = await Promise.allSettled(
    recipient.devices.map(async (device) => {
      if ((await publishPush(device.endpointArn, snsPushMessage(device.platform, push))) === 'sent')
        return 'pushed';
      logger.info('push endpoint gone, removing the device', {
        recipientId: recipient.userId,
        deviceId: device.deviceId,
      });
      await removeDeadDevice(device);
      return 'removed';
    }),
  );
  const outcome: PushOutcome = { pushed: 0, devicesRemoved: 0 };
  const failures: unknown[] = [];
  for (const result of results) {
    if (result.status === 'rejected') failures.push(result.reason);
    else if (result.value === 'pushed') outcome.pushed += 1;
    else outcome.devicesRemoved += 1;
  }
  if (failures.length > 0) {
    throw new AggregateError(failures, `push to ${failures.length} device(s) of ${recipient.userId} failed`);
  }
  return outcome;
}

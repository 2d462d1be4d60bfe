/**
 * Mobile push for a recipient with no open connection: one SNS Publish per registered device, badged
 * with the user's total unread count, at most once per (message, device) however often the stream
 * retries (push receipts). A device whose endpoint is gone is removed, not retried.
 *
 * The push is what SNS expects with `MessageStructure: 'json'`: the platform's payload (FCM HTTP v1 or
 * APNs), itself a JSON document, under SNS's name for the platform (definitions/push-platforms.ts),
 * plus `default` for any other transport.
 */
import { PUSH_PLATFORMS } from '../../definitions/push-platforms.ts';
import { failureClass } from '../adapters/aws-errors.ts';
import { claimPush, releasePush } from '../adapters/push-receipts.ts';
import { publishPush } from '../adapters/push-sender.ts';
import { listUnread } from '../adapters/unread-store.ts';
import type { UserDirectoryEntry } from '../adapters/user-directory.ts';
import { attachmentWord } from '../domain/attachment-rules.ts';
import { badgeCount, type UnreadEntry } from '../domain/badge.ts';
import { removeDeadDevice } from '../domain/devices.ts';
import type { Conversation, Device, Platform, StoredMessage } from '../domain/model.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { FANOUT_LIMITS } from '../shared/config.ts';
import { logger } from '../shared/logger.ts';
import type { PushOutcome, TargetFailure } from './delivery-report.ts';

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

export interface PushNotification {
  title: string;
  body: string;
  badge: number;
  conversationId: string;
  messageId: string;
  seq: number;
}

const BODY_CODE_POINTS = 100;

/** What a push title needs to know of the conversation: a group is named in it. */
export interface PushConversation {
  readonly kind: Conversation['kind'];
  readonly title: string | null;
  readonly members: readonly string[];
}

/**
 * The title names the sender, and in a group the group too: `Alice · Weekend trip`, or
 * `Alice · group of 5` for a group without a title. A direct message is titled by the sender alone
 * (protocol.md). `senderName` may be missing on items written before display names were stored.
 */
export function pushTitle(
  message: Pick<StoredMessage, 'senderId'>,
  senderName: string | undefined,
  conversation?: PushConversation,
): string {
  const sender = senderName === undefined || senderName === '' ? message.senderId : senderName;
  if (conversation?.kind !== 'group') return sender;
  return `${sender} · ${conversation.title ?? `group of ${conversation.members.length}`}`;
}

export function buildPushNotification(
  message: StoredMessage,
  senderName: string | undefined,
  badge: number,
  conversation?: PushConversation,
): PushNotification {
  return {
    title: pushTitle(message, senderName, conversation),
    // Code points, not UTF-16 units: never cut an emoji or other astral character in half. A message
    // of attachments only says what it carries ("Photo").
    body:
      message.content === '' && (message.attachments?.length ?? 0) > 0
        ? attachmentWord(message.attachments ?? [])
        : Array.from(message.content).slice(0, BODY_CODE_POINTS).join(''),
    badge,
    conversationId: message.conversationId,
    messageId: message.messageId,
    seq: message.seq,
  };
}

/** The `Message` of an SNS Publish with `MessageStructure: 'json'`. */
export function snsPushMessage(platform: Platform, push: PushNotification): string {
  const payload = platform === 'fcm' ? fcmPayload(push) : apnsPayload(push);
  return JSON.stringify({ default: push.body, [PUSH_PLATFORMS[platform].sns]: JSON.stringify(payload) });
}

function apnsPayload(push: PushNotification): Record<string, unknown> {
  return {
    aps: {
      alert: { title: push.title, body: push.body },
      badge: push.badge,
      sound: 'default',
      // Groups the conversation's notifications together in Notification Center.
      'thread-id': push.conversationId,
    },
    conversationId: push.conversationId,
    messageId: push.messageId,
    seq: push.seq,
  };
}

/** FCM v1 `data` values must all be strings. */
function fcmPayload(push: PushNotification): Record<string, unknown> {
  return {
    fcmV1Message: {
      message: {
        notification: { title: push.title, body: push.body },
        data: { conversationId: push.conversationId, messageId: push.messageId, seq: String(push.seq) },
        android: { notification: { notification_count: push.badge } },
      },
    },
  };
}

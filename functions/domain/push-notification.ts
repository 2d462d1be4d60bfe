/**
 * The mobile push for a message, as SNS expects it with `MessageStructure: 'json'`: the platform's
 * payload (FCM HTTP v1 or APNs), itself a JSON document, under SNS's name for the platform
 * (definitions/push-platforms.ts), plus `default` for any other transport.
 */
import { PUSH_PLATFORMS } from '../../definitions/push-platforms.ts';
import { attachmentWord } from './attachment-rules.ts';
import type { Conversation, Platform, StoredMessage } from './model.ts';

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

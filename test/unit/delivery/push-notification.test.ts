/** The push built from a stored message: title, body cut, and the per-platform SNS documents. */
import { describe, expect, it } from 'vitest';
import { buildPushNotification, snsPushMessage } from '../../../functions/delivery/push.ts';
import type { StoredMessage } from '../../../functions/domain/model.ts';

const MESSAGE: StoredMessage = {
  conversationId: 'g_climbing',
  seq: 42,
  messageId: '01JDB5A7G3H2K9M4N6P8Q1R3S5',
  senderId: 'alice',
  content: 'short',
  createdAt: '2026-11-23T10:30:05.123Z',
  clientMessageId: 'b3c1d2e4-5f67-4890-a1b2-c3d4e5f6a7b8',
  originConnectionId: 'CfQ3bfF3DoECJqQ=',
};

describe('buildPushNotification', () => {
  it('cuts the body at 100 code points without splitting an astral character', () => {
    // 99 letters then emoji (two UTF-16 units each): a cut by units would leave half a surrogate pair
    const content = `${'a'.repeat(99)}🧗🧗🧗`;

    const push = buildPushNotification({ ...MESSAGE, content }, 'Alice', 0);

    expect(push.body).toBe(`${'a'.repeat(99)}🧗`);
    expect(Array.from(push.body)).toHaveLength(100);
  });

  it('keeps a body of 100 code points or fewer whole', () => {
    expect(buildPushNotification(MESSAGE, 'Alice', 0).body).toBe('short');
  });

  it.each([
    [undefined, 'alice'],
    ['', 'alice'],
    ['Alice Martin', 'Alice Martin'],
  ])('titles with the sender name %j, else the sender id', (senderName, title) => {
    expect(buildPushNotification(MESSAGE, senderName, 3).title).toBe(title);
  });
});

describe('push titles in a group', () => {
  const group = { kind: 'group', members: ['alice', 'bob', 'carol', 'dave', 'erin'] } as const;

  it('names the sender and the group', () => {
    expect(buildPushNotification(MESSAGE, 'Alice', 0, { ...group, title: 'Weekend trip' }).title).toBe(
      'Alice · Weekend trip',
    );
  });

  it('names a group without a title by its size', () => {
    expect(buildPushNotification(MESSAGE, 'Alice', 0, { ...group, title: null }).title).toBe(
      'Alice · group of 5',
    );
  });

  it('falls back to the sender id in a group too', () => {
    expect(buildPushNotification(MESSAGE, undefined, 0, { ...group, title: 'Climbing' }).title).toBe(
      'alice · Climbing',
    );
  });

  it('titles a direct message by the sender alone', () => {
    const direct = { kind: 'direct', members: ['alice', 'bob'], title: null } as const;
    expect(buildPushNotification(MESSAGE, 'Alice', 0, direct).title).toBe('Alice');
  });
});

describe('snsPushMessage', () => {
  const push = buildPushNotification(MESSAGE, 'Alice', 3);

  it('encodes the FCM v1 document as a string under GCM, with string data values', () => {
    const message = JSON.parse(snsPushMessage('fcm', push)) as Record<string, string>;

    expect(Object.keys(message).sort()).toEqual(['GCM', 'default']);
    expect(message.default).toBe('short');
    expect(JSON.parse(message.GCM ?? '')).toEqual({
      fcmV1Message: {
        message: {
          notification: { title: 'Alice', body: 'short' },
          data: { conversationId: 'g_climbing', messageId: '01JDB5A7G3H2K9M4N6P8Q1R3S5', seq: '42' },
          android: { notification: { notification_count: 3 } },
        },
      },
    });
  });

  it.each([
    ['apns', 'APNS'],
    ['apns_sandbox', 'APNS_SANDBOX'],
  ] as const)('encodes the APNs document under the %s platform key %s', (platform, key) => {
    const message = JSON.parse(snsPushMessage(platform, push)) as Record<string, string>;

    expect(Object.keys(message).sort()).toEqual([key, 'default'].sort());
    expect(JSON.parse(message[key] ?? '')).toEqual({
      aps: {
        alert: { title: 'Alice', body: 'short' },
        badge: 3,
        sound: 'default',
        'thread-id': 'g_climbing',
      },
      conversationId: 'g_climbing',
      messageId: '01JDB5A7G3H2K9M4N6P8Q1R3S5',
      seq: 42,
    });
  });
});

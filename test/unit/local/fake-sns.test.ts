import { describe, expect, it } from 'vitest';
import { setLocalLogSink } from '../../../local/log.ts';
import { FakeSns } from '../../../local/push/fake-sns.ts';

setLocalLogSink(() => undefined);
const APNS_APP = 'arn:aws:sns:us-east-1:000000000000:app/APNS/parley-local';
const GCM_APP = 'arn:aws:sns:us-east-1:000000000000:app/GCM/parley-local';

/** One AWS Query request as `@aws-sdk/client-sns` encodes it. */
function call(sns: FakeSns, params: Record<string, string>) {
  return sns.handle(new URLSearchParams({ Version: '2010-03-31', ...params }).toString());
}

function createEndpoint(sns: FakeSns, app: string, token: string, userData: string) {
  const reply = call(sns, {
    Action: 'CreatePlatformEndpoint',
    PlatformApplicationArn: app,
    Token: token,
    CustomUserData: userData,
  });
  return /<EndpointArn>(.*)<\/EndpointArn>/.exec(reply.body)?.[1] ?? '';
}

const owner = JSON.stringify({ userId: 'bob', deviceId: 'bob-phone' });

describe('FakeSns', () => {
  it('returns the same endpoint for the same token and attributes, and refuses different ones', () => {
    const sns = new FakeSns();
    const arn = createEndpoint(sns, APNS_APP, 'apns-token', owner);
    expect(arn).toMatch(/^arn:aws:sns:us-east-1:000000000000:endpoint\/APNS\/parley-local\/[0-9a-f-]{36}$/);
    expect(createEndpoint(sns, APNS_APP, 'apns-token', owner)).toBe(arn);
    const other = call(sns, {
      Action: 'CreatePlatformEndpoint',
      PlatformApplicationArn: APNS_APP,
      Token: 'apns-token',
      CustomUserData: '{"userId":"eve"}',
    });
    expect(other.statusCode).toBe(400);
    expect(other.body).toContain('<Code>InvalidParameter</Code>');
    expect(other.body).toContain(
      `Endpoint ${arn} already exists with the same Token, but different attributes.`,
    );
  });

  it('records an APNs push the way SNS hands it to APNs', () => {
    const sns = new FakeSns();
    const arn = createEndpoint(sns, APNS_APP, 'apns-token', owner);
    const apns = JSON.stringify({
      aps: { alert: { title: 'Alice', body: 'hi' }, badge: 3, sound: 'default', 'thread-id': 'c1' },
      conversationId: 'c1',
      messageId: 'm1',
      seq: 7,
    });
    const reply = call(sns, {
      Action: 'Publish',
      TargetArn: arn,
      MessageStructure: 'json',
      Message: JSON.stringify({ default: 'Alice: hi', APNS: apns }),
    });
    expect(reply.body).toContain('<MessageId>');
    expect(sns.pushes()).toEqual([
      {
        userId: 'bob',
        deviceId: 'bob-phone',
        platform: 'apns',
        token: 'apns-token',
        title: 'Alice',
        body: 'hi',
        data: { conversationId: 'c1', messageId: 'm1', seq: 7 },
        badge: 3,
        sentAt: expect.any(String),
      },
    ]);
  });

  it('records an FCM v1 push with seq as a number', () => {
    const sns = new FakeSns();
    const arn = createEndpoint(sns, GCM_APP, 'fcm-token', owner);
    const gcm = JSON.stringify({
      fcmV1Message: {
        message: {
          notification: { title: 'Alice', body: 'hi' },
          data: { conversationId: 'c1', messageId: 'm1', seq: '7' },
          android: { notification: { notification_count: 2 } },
        },
      },
    });
    call(sns, {
      Action: 'Publish',
      TargetArn: arn,
      MessageStructure: 'json',
      Message: JSON.stringify({ default: 'x', GCM: gcm }),
    });
    expect(sns.pushes()[0]).toMatchObject({
      platform: 'fcm',
      data: { seq: 7 },
      badge: 2,
      title: 'Alice',
      body: 'hi',
    });
  });

  it('answers EndpointDisabled once the platform rejected the token, and NotFound after DeleteEndpoint', () => {
    const sns = new FakeSns();
    const arn = createEndpoint(sns, GCM_APP, 'fcm-token', owner);
    const message = JSON.stringify({ default: 'x' });
    expect(sns.rejectToken('fcm-token')).toBe(1);
    const disabled = call(sns, {
      Action: 'Publish',
      TargetArn: arn,
      MessageStructure: 'json',
      Message: message,
    });
    expect(disabled.body).toContain('<Code>EndpointDisabled</Code>');
    expect(call(sns, { Action: 'DeleteEndpoint', EndpointArn: arn }).statusCode).toBe(200);
    const deleted = call(sns, {
      Action: 'Publish',
      TargetArn: arn,
      MessageStructure: 'json',
      Message: message,
    });
    expect(deleted.statusCode).toBe(404);
    expect(deleted.body).toContain('<Code>NotFound</Code>');
    expect(sns.pushes()).toEqual([]);
  });

  it('refuses a JSON message without a default entry', () => {
    const sns = new FakeSns();
    const arn = createEndpoint(sns, GCM_APP, 'fcm-token', owner);
    const reply = call(sns, {
      Action: 'Publish',
      TargetArn: arn,
      MessageStructure: 'json',
      Message: '{"GCM":"{}"}',
    });
    expect(reply.body).toContain('No default entry in JSON message body');
  });
});

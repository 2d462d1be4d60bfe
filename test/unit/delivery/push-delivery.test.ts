/**
 * Mobile push for recipients without an open connection: exact SNS payloads per platform, the badge,
 * who gets no push, and what dead endpoints and other SNS failures do.
 */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteEndpointCommand,
  EndpointDisabledException,
  InvalidParameterException,
  NotFoundException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from '@aws-sdk/client-sns';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../../functions/adapters/keys.ts';
import { handler } from '../../../functions/stream/delivery.ts';
import {
  mockConversation,
  mockFailedAttempts,
  mockFailureTopic,
  mockUsers,
  queuedFailures,
  type TestDevice,
} from '../../support/delivery-mocks.ts';
import { messageInsert, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const ORIGIN = 'CfQ3bfF3DoECJqQ=';
const SEQUENCE_NUMBER = '4421584500000000017450439091';
const BODY = 'Are we still on for lunch at noon? I booked the table by the window.';

const IPHONE: TestDevice = {
  deviceId: 'iphone-bob',
  platform: 'apns',
  token: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
  endpointArn: 'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/3f1d2c4b-5a69-4e7f-8d0c-1b2a3c4d5e6f',
};
const PIXEL: TestDevice = {
  deviceId: 'pixel-bob',
  platform: 'fcm',
  token: 'dQw4w9WgXcQ:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx',
  endpointArn: 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/parley/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
};
const IPAD_DEV: TestDevice = {
  deviceId: 'ipad-dev-bob',
  platform: 'apns_sandbox',
  token: 'f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f',
  endpointArn:
    'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS_SANDBOX/parley/0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
};

/** bob's member item after this delivery's update: lastSeq 7, read up to 5 → 2 unread here. */
const BOB_MEMBER = {
  PK: 'CONV#d_alice_bob',
  SK: 'MEMBER#bob',
  type: 'member',
  conversationId: 'd_alice_bob',
  userId: 'bob',
  readSeq: 5,
  lastSeq: 7,
  unreadOwner: 'bob',
  changedBy: 'delivery',
};

const unreadItem = (conversationId: string, lastSeq: number, readSeq: number) => ({
  unreadOwner: 'bob',
  PK: `CONV#${conversationId}`,
  SK: 'MEMBER#bob',
  lastSeq,
  readSeq,
});

function apnsMessage(key: 'APNS' | 'APNS_SANDBOX', badge: number): string {
  return JSON.stringify({
    default: BODY,
    [key]: JSON.stringify({
      aps: {
        alert: { title: 'Alice Martin', body: BODY },
        badge,
        sound: 'default',
        'thread-id': 'd_alice_bob',
      },
      conversationId: 'd_alice_bob',
      messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F',
      seq: 7,
    }),
  });
}

function fcmMessage(badge: number): string {
  return JSON.stringify({
    default: BODY,
    GCM: JSON.stringify({
      fcmV1Message: {
        message: {
          notification: { title: 'Alice Martin', body: BODY },
          data: { conversationId: 'd_alice_bob', messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F', seq: '7' },
          android: { notification: { notification_count: badge } },
        },
      },
    }),
  });
}

describe('push to recipients without an open connection', () => {
  beforeEach(() => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob']);
    mockUsers(ddb, { alice: { connections: [ORIGIN] }, bob: { devices: [IPHONE] } });
    ddb.on(UpdateCommand).resolves({ Attributes: BOB_MEMBER });
    ddb.on(QueryCommand, { IndexName: 'unread' }).resolves({ Items: [unreadItem('d_alice_bob', 7, 5)] });
    ddb.on(DeleteCommand).resolves({});
    api.on(PostToConnectionCommand).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'b8a4b5e2-3f0c-5c1d-9e7f-2a6b4c8d0e1f' });
    sns.on(DeleteEndpointCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
    api.reset();
    sns.reset();
  });

  it('publishes the exact APNs payload to an offline recipient', async () => {
    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TargetArn: IPHONE.endpointArn,
      MessageStructure: 'json',
      Message: apnsMessage('APNS', 2),
    });
  });

  it.each([
    ['Weekend trip', 'Alice Martin · Weekend trip'],
    [null, 'Alice Martin · group of 3'],
  ])('titles a push in a group (title %j) with the sender and the group: %j', async (title, expected) => {
    // GIVEN the message's conversation is a group; carol is online
    ddb.on(GetCommand, { Key: { PK: 'CONV#d_alice_bob', SK: 'META' } }).resolves({
      Item: {
        conversationId: 'd_alice_bob',
        kind: 'group',
        members: ['alice', 'bob', 'carol'],
        title,
        createdAt: '2026-11-20T08:00:00.000Z',
      },
    });
    mockUsers(ddb, { carol: { connections: ['CfQ3fRt5DoECMdQ='] } });
    mockUsers(ddb, { bob: { devices: [IPHONE, PIXEL] } });

    await handler(streamEvent(messageInsert()));

    // THEN only bob (offline) is pushed, on both platforms, with the group in the title
    const messages = sns
      .commandCalls(PublishCommand)
      .map((call) => JSON.parse(String(call.args[0].input.Message)) as Record<string, string>);
    expect(messages).toHaveLength(2);
    const apns = JSON.parse(messages.find((m) => m.APNS)?.APNS ?? '{}');
    const fcm = JSON.parse(messages.find((m) => m.GCM)?.GCM ?? '{}');
    expect(apns.aps.alert).toEqual({ title: expected, body: BODY });
    expect(fcm.fcmV1Message.message.notification).toEqual({ title: expected, body: BODY });
  });

  it('publishes one push per device: FCM v1 and APNs sandbox payloads', async () => {
    mockUsers(ddb, { bob: { devices: [PIXEL, IPAD_DEV] } });

    await handler(streamEvent(messageInsert()));

    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TargetArn: PIXEL.endpointArn,
      MessageStructure: 'json',
      Message: fcmMessage(2),
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TargetArn: IPAD_DEV.endpointArn,
      MessageStructure: 'json',
      Message: apnsMessage('APNS_SANDBOX', 2),
    });
  });

  it('badges with the unread total over every page of the unread index, this conversation taken fresh', async () => {
    // GIVEN the index still shows this conversation before the update (lag), and two pages of others
    ddb
      .on(QueryCommand, { IndexName: 'unread' })
      .resolvesOnce({
        Items: [unreadItem('d_alice_bob', 6, 5), unreadItem('g_climbing', 12, 9)],
        LastEvaluatedKey: { unreadOwner: 'bob', PK: 'CONV#g_climbing', SK: 'MEMBER#bob' },
      })
      .resolvesOnce({ Items: [unreadItem('d_bob_carol', 3, 4)] });

    // WHEN
    await handler(streamEvent(messageInsert()));

    // THEN 2 (fresh, not 1 from the index) + 3 + 0 (a cursor past lastSeq never counts negative)
    // 2 unread pages, 2 member partitions, and the conversation's member items (who hid it)
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 5);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'parley-test',
      IndexName: 'unread',
      KeyConditionExpression: 'unreadOwner = :owner',
      ExpressionAttributeValues: { ':owner': 'bob' },
      ExclusiveStartKey: { unreadOwner: 'bob', PK: 'CONV#g_climbing', SK: 'MEMBER#bob' },
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { Message: apnsMessage('APNS', 5) });
  });

  it('counts this conversation even when the index does not show it yet', async () => {
    ddb.on(QueryCommand, { IndexName: 'unread' }).resolves({ Items: [unreadItem('g_climbing', 12, 9)] });

    await handler(streamEvent(messageInsert()));

    expect(sns).toHaveReceivedCommandWith(PublishCommand, { Message: apnsMessage('APNS', 5) });
  });

  it('titles the push with the sender id when the message has no sender name', async () => {
    await handler(streamEvent(messageInsert({ senderName: undefined })));

    const message = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
    const apns = JSON.parse((JSON.parse(message) as { APNS: string }).APNS) as { aps: { alert: unknown } };
    expect(apns.aps.alert).toEqual({ title: 'alice', body: BODY });
  });

  it('pushes to a recipient whose only connection turned out to be gone', async () => {
    mockUsers(ddb, { bob: { connections: ['CfQ3dXy2DoECKbQ='], devices: [IPHONE] } });
    api
      .on(PostToConnectionCommand)
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    await handler(streamEvent(messageInsert()));

    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('does not push to a recipient with an open connection, nor read the unread index', async () => {
    mockUsers(ddb, { bob: { connections: ['CfQ3dXy2DoECKbQ='], devices: [IPHONE] } });

    await handler(streamEvent(messageInsert()));

    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(ddb).not.toHaveReceivedCommandWith(QueryCommand, { IndexName: 'unread' });
  });

  it('does not push to the sender, whose other devices are offline', async () => {
    const aliceIphone = {
      ...IPHONE,
      deviceId: 'iphone-alice',
      endpointArn:
        'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/7c6b5a49-3827-4160-9f8e-7d6c5b4a3928',
    };
    mockUsers(ddb, { alice: { connections: [ORIGIN], devices: [aliceIphone] } });

    await handler(streamEvent(messageInsert()));

    expect(sns).not.toHaveReceivedCommandWith(PublishCommand, { TargetArn: aliceIphone.endpointArn });
    expect(sns).toHaveReceivedCommandExactlyOnceWith(PublishCommand, { TargetArn: IPHONE.endpointArn });
  });

  it('sends nothing to a deactivated recipient, but keeps their unread count', async () => {
    mockUsers(ddb, { bob: { connections: ['CfQ3dXy2DoECKbQ='], devices: [IPHONE], deactivated: true } });

    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(api).not.toHaveReceivedCommand(PostToConnectionCommand);
    // bob's entry counts the message (unread, shown, moved up), undelivered: nothing reached him
    const bobUpdates = ddb
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.Key?.SK === 'MEMBER#bob');
    expect(bobUpdates).toHaveLength(1);
    expect(bobUpdates[0]).toMatchObject({
      Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#bob' },
      UpdateExpression:
        'SET lastSeq = :lastSeq, unreadOwner = :unreadOwner, lastMessage = :lastMessage, peerSent = :peerSent, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt',
      ExpressionAttributeValues: expect.objectContaining({
        ':lastSeq': 7,
        ':unreadOwner': 'bob',
        ':lastMessage': expect.objectContaining({ seq: 7, content: BODY }),
      }),
    });
  });

  it.each([
    ['disabled', new EndpointDisabledException({ message: 'Endpoint is disabled', $metadata: {} })],
    ['deleted', new NotFoundException({ message: 'Endpoint does not exist', $metadata: {} })],
    [
      'unknown to SNS',
      new InvalidParameterException({
        message: 'Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified',
        $metadata: {},
      }),
    ],
  ])('removes a device whose endpoint is %s, and does not fail the record', async (_case, error) => {
    // GIVEN the pixel's token was rejected by FCM; the iphone still works
    mockUsers(ddb, { bob: { devices: [IPHONE, PIXEL] } });
    sns.on(PublishCommand, { TargetArn: PIXEL.endpointArn }).rejects(error);

    // WHEN
    const result = await handler(streamEvent(messageInsert()));

    // THEN the pixel's item (only while it still has that endpoint), its token claim and endpoint go
    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'parley-test',
      Key: { PK: 'USER#bob', SK: 'DEVICE#pixel-bob' },
      ConditionExpression: 'endpointArn = :endpointArn',
      ExpressionAttributeValues: { ':endpointArn': PIXEL.endpointArn },
    });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'parley-test',
      Key: keys.pushToken('fcm', PIXEL.token),
      ConditionExpression: 'userId = :userId AND deviceId = :deviceId',
      ExpressionAttributeValues: { ':userId': 'bob', ':deviceId': 'pixel-bob' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(sns).toHaveReceivedCommandExactlyOnceWith(DeleteEndpointCommand, {
      EndpointArn: PIXEL.endpointArn,
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TargetArn: IPHONE.endpointArn });
  });

  it('keeps the endpoint of a dead device whose token another user holds now', async () => {
    sns
      .on(PublishCommand)
      .rejects(new EndpointDisabledException({ message: 'Endpoint is disabled', $metadata: {} }));
    ddb.on(DeleteCommand, { Key: keys.pushToken('apns', IPHONE.token) }).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: marshall({ type: 'pushToken', userId: 'carol', deviceId: 'iphone-carol', platform: 'apns' }),
      }),
    );

    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { PK: 'USER#bob', SK: 'DEVICE#iphone-bob' },
    });
    expect(sns).not.toHaveReceivedCommand(DeleteEndpointCommand);
  });

  it('claims each (message, device) push with a conditional put before publishing it', async () => {
    await handler(streamEvent(messageInsert()));

    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({
        PK: 'PUSH#d_alice_bob#7',
        SK: 'DEVICE#bob#iphone-bob',
        type: 'pushReceipt',
      }),
      ConditionExpression: 'attribute_not_exists(PK)',
    });
  });

  it('does not push a device again that already has this message (a retried record)', async () => {
    // GIVEN the iPhone was pushed by an earlier attempt of this record, the Pixel was not
    mockUsers(ddb, { bob: { devices: [IPHONE, PIXEL] } });
    ddb
      .on(PutCommand, { Item: { SK: 'DEVICE#bob#iphone-bob' } })
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TargetArn: PIXEL.endpointArn });
  });

  it('retries the record on a transient SNS error, releasing only that device’s claim', async () => {
    mockUsers(ddb, { bob: { devices: [IPHONE, PIXEL] } });
    mockFailedAttempts(ddb, 1);
    sns
      .on(PublishCommand, { TargetArn: IPHONE.endpointArn })
      .rejects(new ThrottledException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }));

    const result = await handler(streamEvent(messageInsert()));

    // THEN every device was tried, the record will be retried, and only the failed push can happen again
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: SEQUENCE_NUMBER }] });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TargetArn: PIXEL.endpointArn });
    expect(ddb).toHaveReceivedCommandTimes(DeleteCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { PK: 'PUSH#d_alice_bob#7', SK: 'DEVICE#bob#iphone-bob' },
    });
  });

  it('records an invalid-parameter error that is not about the endpoint (a payload bug) and keeps the device', async () => {
    sns.on(PublishCommand).rejects(
      new InvalidParameterException({
        message: 'Invalid parameter: Message Structure - JSON message body failed to parse',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    mockFailureTopic(sns);

    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
    expect(queuedFailures(sns)).toEqual([
      expect.objectContaining({
        class: 'permanent',
        recipients: ['bob'],
        failures: [
          {
            userId: 'bob',
            deviceId: 'iphone-bob',
            class: 'permanent',
            error: 'InvalidParameterException',
            status: 400,
          },
        ],
      }),
    ]);
  });
});

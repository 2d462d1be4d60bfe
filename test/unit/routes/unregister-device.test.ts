/** unregisterDevice: the device item, its token claim and its SNS endpoint go; idempotent. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteEndpointCommand, SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../../functions/adapters/keys.ts';
import { handler } from '../../../functions/routes/unregister-device.ts';
import { lambdaContext, messageEvent, type Who } from '../../../local/harness/ws-events.ts';

/** The caller of the fixture: alice ("Alice Martin") on her iPhone. */
const ALICE_PHONE: Who = { userId: 'alice', name: 'Alice Martin', deviceId: 'iphone-7f3a' };
const withoutDeviceId = (event: ReturnType<typeof messageEvent>) => {
  if (event.requestContext.authorizer !== undefined) event.requestContext.authorizer.deviceId = '';
  return event;
};

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);

const TOKEN = '740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad';
const ENDPOINT =
  'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/5d3c7a1e-2b4f-4c6d-8e9a-0f1b2c3d4e5f';
const ACK = { statusCode: 200, body: JSON.stringify({ type: 'ack', action: 'unregisterDevice' }) };
const DEVICE_KEY = { PK: 'USER#alice', SK: 'DEVICE#iphone-7f3a' };
const CLAIM_KEY = keys.pushToken('apns', TOKEN);

const unregister = () => messageEvent({ action: 'unregisterDevice' }, ALICE_PHONE);

describe('unregisterDevice', () => {
  beforeEach(() => {
    ddb.on(DeleteCommand, { Key: DEVICE_KEY }).resolves({
      Attributes: {
        ...DEVICE_KEY,
        type: 'device',
        userId: 'alice',
        deviceId: 'iphone-7f3a',
        platform: 'apns',
        token: TOKEN,
        endpointArn: ENDPOINT,
        registeredAt: '2026-11-01T12:00:00.000Z',
      },
    });
    ddb.on(DeleteCommand, { Key: CLAIM_KEY }).resolves({});
    sns.on(DeleteEndpointCommand).resolves({});
    // The caller's rate bucket takes the request (functions/adapters/rate-buckets.ts).
    ddb.on(UpdateCommand).resolves({ Attributes: { tat: Date.now() + 6000 } });
  });

  afterEach(() => {
    ddb.reset();
    sns.reset();
  });

  it("deletes the connection's device, its token claim and its endpoint, and acknowledges", async () => {
    const response = await handler(unregister(), lambdaContext);

    expect(response).toEqual(ACK);
    // The rate bucket first, before anything is deleted.
    expect(ddb.call(0).args[0].input).toMatchObject({ Key: { PK: 'RATE#alice', SK: 'unregisterDevice' } });
    expect(ddb).toHaveReceivedNthCommandWith(DeleteCommand, 1, {
      TableName: 'parley-test',
      Key: DEVICE_KEY,
      ReturnValues: 'ALL_OLD',
    });
    expect(ddb).toHaveReceivedNthCommandWith(DeleteCommand, 2, {
      TableName: 'parley-test',
      Key: CLAIM_KEY,
      ConditionExpression: 'userId = :userId AND deviceId = :deviceId',
      ExpressionAttributeValues: { ':userId': 'alice', ':deviceId': 'iphone-7f3a' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(sns).toHaveReceivedCommandExactlyOnceWith(DeleteEndpointCommand, { EndpointArn: ENDPOINT });
  });

  it('acknowledges a device that is not registered, touching nothing else', async () => {
    ddb.on(DeleteCommand, { Key: DEVICE_KEY }).resolves({});

    const response = await handler(unregister(), lambdaContext);

    expect(response).toEqual(ACK);
    expect(ddb).toHaveReceivedCommandTimes(DeleteCommand, 1);
    expect(sns).not.toHaveReceivedAnyCommand();
  });

  it('keeps the endpoint when another user holds the token now', async () => {
    ddb.on(DeleteCommand, { Key: CLAIM_KEY }).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: marshall({ type: 'pushToken', userId: 'carol', deviceId: 'iphone-carol', platform: 'apns' }),
      }),
    );

    expect(await handler(unregister(), lambdaContext)).toEqual(ACK);
    expect(sns).not.toHaveReceivedCommand(DeleteEndpointCommand);
  });

  it('still deletes the endpoint when the claim is already gone', async () => {
    ddb
      .on(DeleteCommand, { Key: CLAIM_KEY })
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    expect(await handler(unregister(), lambdaContext)).toEqual(ACK);
    expect(sns).toHaveReceivedCommandExactlyOnceWith(DeleteEndpointCommand, { EndpointArn: ENDPOINT });
  });

  it('needs a deviceId on the connection', async () => {
    const response = await handler(withoutDeviceId(unregister()), lambdaContext);

    expect(response).toEqual({
      statusCode: 200,
      body: JSON.stringify({
        type: 'error',
        code: 'bad_request',
        message: 'unregisterDevice needs a deviceId on the connection (connect with ?deviceId=...)',
        action: 'unregisterDevice',
      }),
    });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('answers bad_request to a body that is not a JSON object', async () => {
    const response = await handler(messageEvent('unregister please', ALICE_PHONE), lambdaContext);

    expect(JSON.parse(response.body ?? '')).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('answers internal when the table fails', async () => {
    ddb.on(DeleteCommand, { Key: DEVICE_KEY }).rejects(new Error('socket hang up'));

    const response = await handler(unregister(), lambdaContext);

    expect(JSON.parse(response.body ?? '')).toEqual({
      type: 'error',
      code: 'internal',
      message: 'the server failed; retry (with the same clientMessageId)',
      action: 'unregisterDevice',
    });
  });
});

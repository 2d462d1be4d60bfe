/**
 * registerDevice: the SNS endpoint for the token, the device item and the token claim; takeovers and
 * rotations clean up after themselves; every bad frame is answered with an error and stores nothing.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  CreatePlatformEndpointCommand,
  DeleteEndpointCommand,
  InternalErrorException,
  InvalidParameterException,
  SetEndpointAttributesCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../../functions/adapters/keys.ts';
import { handler } from '../../../functions/routes/register-device.ts';
import { lambdaContext, messageEvent, type Who } from '../../../local/harness/ws-events.ts';

/** The caller of the fixture: alice ("Alice Martin") on her iPhone. */
const ALICE_PHONE: Who = { userId: 'alice', name: 'Alice Martin', deviceId: 'iphone-7f3a' };
const withoutDeviceId = (event: ReturnType<typeof messageEvent>) => {
  if (event.requestContext.authorizer !== undefined) event.requestContext.authorizer.deviceId = '';
  return event;
};

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);

const APNS_APP = 'arn:aws:sns:eu-west-1:123456789012:app/APNS/parley';
const TOKEN = '740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad';
const ENDPOINT =
  'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/5d3c7a1e-2b4f-4c6d-8e9a-0f1b2c3d4e5f';
const OLD_TOKEN = '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c';
const OLD_ENDPOINT =
  'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const CUSTOM_USER_DATA = JSON.stringify({ userId: 'alice', deviceId: 'iphone-7f3a' });
const ACK = { statusCode: 200, body: JSON.stringify({ type: 'ack', action: 'registerDevice' }) };

const DEVICE_ITEM = {
  PK: 'USER#alice',
  SK: 'DEVICE#iphone-7f3a',
  type: 'device',
  userId: 'alice',
  deviceId: 'iphone-7f3a',
  platform: 'apns',
  token: TOKEN,
  endpointArn: ENDPOINT,
  registeredAt: '2026-11-23T10:30:05.123Z',
};

const register = (body: unknown = { action: 'registerDevice', platform: 'apns', token: TOKEN }) =>
  messageEvent(body, ALICE_PHONE);

/** Asked the caller's rate bucket (an idle one) and nothing else of the table. */
const onlyRateBucketAsked = () =>
  expect(ddb.calls().map((call) => (call.args[0] as { input: { Key?: unknown } }).input.Key)).toEqual([
    { PK: 'RATE#alice', SK: 'registerDevice' },
  ]);

const errorReply = (code: string, message: string) => ({
  statusCode: 200,
  body: JSON.stringify({ type: 'error', code, message, action: 'registerDevice' }),
});

describe('registerDevice', () => {
  beforeEach(() => {
    sns.on(CreatePlatformEndpointCommand).resolves({ EndpointArn: ENDPOINT });
    sns.on(SetEndpointAttributesCommand).resolves({});
    sns.on(DeleteEndpointCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(DeleteCommand).resolves({});
    // The caller's rate bucket takes the request (functions/adapters/rate-buckets.ts).
    ddb.on(UpdateCommand).resolves({ Attributes: { tat: Date.now() + 6000 } });
  });

  afterEach(() => {
    ddb.reset();
    sns.reset();
    vi.unstubAllEnvs();
  });

  it('creates the endpoint, writes the device item and the token claim, and acknowledges', async () => {
    // WHEN
    const response = await handler(register(), lambdaContext);

    // THEN
    expect(response).toEqual(ACK);
    // The rate bucket first, before SNS is asked for anything.
    expect(ddb.call(0).args[0].input).toMatchObject({ Key: { PK: 'RATE#alice', SK: 'registerDevice' } });
    expect(sns).toHaveReceivedCommandExactlyOnceWith(CreatePlatformEndpointCommand, {
      PlatformApplicationArn: APNS_APP,
      Token: TOKEN,
      CustomUserData: CUSTOM_USER_DATA,
      Attributes: { Enabled: 'true' },
    });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'parley-test',
      Item: DEVICE_ITEM,
      ReturnValues: 'ALL_OLD',
    });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'parley-test',
      Item: {
        ...keys.pushToken('apns', TOKEN),
        type: 'pushToken',
        userId: 'alice',
        deviceId: 'iphone-7f3a',
        platform: 'apns',
      },
      ReturnValues: 'ALL_OLD',
    });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 2);
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
    expect(sns).not.toHaveReceivedCommand(DeleteEndpointCommand);
  });

  it('keeps the token out of the claim key (hashed) and out of the logs', async () => {
    // GIVEN every log line written (the logger reads LOG_LEVEL when loaded)
    vi.stubEnv('LOG_LEVEL', 'debug');
    vi.resetModules();
    const route = await import('../../../functions/routes/register-device.ts');
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

    // WHEN
    const response = await route.handler(register(), lambdaContext);

    // THEN
    const logged = stdout.mock.calls.map(([line]) => String(line)).join('');
    stdout.mockRestore();
    expect(response).toEqual(ACK);
    expect(logged).toContain('device registered');
    expect(logged).not.toContain(TOKEN);
    expect(keys.pushToken('apns', TOKEN).PK).not.toContain(TOKEN);
  });

  it('is idempotent: registering the same token again writes the same items and cleans up nothing', async () => {
    // GIVEN the device and the claim already exist, exactly as this registration writes them
    ddb.on(PutCommand, { Item: { SK: 'DEVICE#iphone-7f3a' } }).resolves({ Attributes: DEVICE_ITEM });
    ddb.on(PutCommand, { Item: { SK: 'TOKEN' } }).resolves({
      Attributes: { type: 'pushToken', userId: 'alice', deviceId: 'iphone-7f3a', platform: 'apns' },
    });

    // WHEN
    const first = await handler(register(), lambdaContext);
    const second = await handler(register(), lambdaContext);

    // THEN
    expect(first).toEqual(ACK);
    expect(second).toEqual(ACK);
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
    expect(sns).not.toHaveReceivedCommand(DeleteEndpointCommand);
    const devicePuts = ddb.commandCalls(PutCommand).filter((call) => call.args[0].input.Item?.SK !== 'TOKEN');
    expect(devicePuts.map((call) => call.args[0].input.Item)).toEqual([DEVICE_ITEM, DEVICE_ITEM]);
  });

  it('takes over the endpoint SNS already has for the token, relabelled and re-enabled', async () => {
    // GIVEN SNS holds an endpoint for this token with another user's data (or disabled)
    sns.on(CreatePlatformEndpointCommand).rejects(
      new InvalidParameterException({
        message: `Invalid parameter: Token Reason: Endpoint ${ENDPOINT} already exists with the same Token, but different attributes.`,
        $metadata: { httpStatusCode: 400 },
      }),
    );

    // WHEN
    const response = await handler(register(), lambdaContext);

    // THEN
    expect(response).toEqual(ACK);
    expect(sns).toHaveReceivedCommandExactlyOnceWith(SetEndpointAttributesCommand, {
      EndpointArn: ENDPOINT,
      Attributes: { CustomUserData: CUSTOM_USER_DATA, Enabled: 'true' },
    });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, { Item: DEVICE_ITEM });
  });

  it("removes the previous holder's device item when another user registers the same token", async () => {
    // GIVEN carol's phone was reset and is now alice's
    ddb.on(PutCommand, { Item: { SK: 'TOKEN' } }).resolves({
      Attributes: { type: 'pushToken', userId: 'carol', deviceId: 'iphone-carol', platform: 'apns' },
    });

    // WHEN
    const response = await handler(register(), lambdaContext);

    // THEN carol's device goes (only while it still points at this token); the shared endpoint stays
    expect(response).toEqual(ACK);
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(DeleteCommand, {
      TableName: 'parley-test',
      Key: { PK: 'USER#carol', SK: 'DEVICE#iphone-carol' },
      ConditionExpression: '#token = :token AND platform = :platform',
      ExpressionAttributeNames: { '#token': 'token' },
      ExpressionAttributeValues: { ':token': TOKEN, ':platform': 'apns' },
    });
    expect(sns).not.toHaveReceivedCommand(DeleteEndpointCommand);
  });

  it('acknowledges when the previous holder re-registered elsewhere meanwhile (condition fails)', async () => {
    ddb.on(PutCommand, { Item: { SK: 'TOKEN' } }).resolves({
      Attributes: { type: 'pushToken', userId: 'carol', deviceId: 'iphone-carol', platform: 'apns' },
    });
    ddb
      .on(DeleteCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    expect(await handler(register(), lambdaContext)).toEqual(ACK);
  });

  it('releases the old token claim and deletes the old endpoint when the token rotated', async () => {
    // GIVEN the device was registered with a token the platform has since replaced
    ddb.on(PutCommand, { Item: { SK: 'DEVICE#iphone-7f3a' } }).resolves({
      Attributes: { ...DEVICE_ITEM, token: OLD_TOKEN, endpointArn: OLD_ENDPOINT },
    });

    // WHEN
    const response = await handler(register(), lambdaContext);

    // THEN
    expect(response).toEqual(ACK);
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(DeleteCommand, {
      TableName: 'parley-test',
      Key: keys.pushToken('apns', OLD_TOKEN),
      ConditionExpression: 'userId = :userId AND deviceId = :deviceId',
      ExpressionAttributeValues: { ':userId': 'alice', ':deviceId': 'iphone-7f3a' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(sns).toHaveReceivedCommandExactlyOnceWith(DeleteEndpointCommand, { EndpointArn: OLD_ENDPOINT });
  });

  it('keeps the old endpoint when someone else holds the old token now', async () => {
    ddb.on(PutCommand, { Item: { SK: 'DEVICE#iphone-7f3a' } }).resolves({
      Attributes: { ...DEVICE_ITEM, token: OLD_TOKEN, endpointArn: OLD_ENDPOINT },
    });
    ddb.on(DeleteCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: marshall({ type: 'pushToken', userId: 'bob', deviceId: 'ipad-bob', platform: 'apns' }),
      }),
    );

    expect(await handler(register(), lambdaContext)).toEqual(ACK);
    expect(sns).not.toHaveReceivedCommand(DeleteEndpointCommand);
  });

  it('needs a deviceId on the connection', async () => {
    const response = await handler(withoutDeviceId(register()), lambdaContext);

    expect(response).toEqual(
      errorReply(
        'bad_request',
        'registerDevice needs a deviceId on the connection (connect with ?deviceId=...)',
      ),
    );
    expect(sns).not.toHaveReceivedAnyCommand();
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('refuses a platform whose application is not configured', async () => {
    // GIVEN a function deployed without the APNs sandbox application (modules read env at load)
    vi.stubEnv('PUSH_APP_ARN_APNS_SANDBOX', '');
    vi.resetModules();
    const route = await import('../../../functions/routes/register-device.ts');

    const response = await route.handler(
      register({ action: 'registerDevice', platform: 'apns_sandbox', token: TOKEN }),
      lambdaContext,
    );

    expect(response).toEqual(errorReply('bad_request', 'platform not configured: apns_sandbox'));
    expect(sns).not.toHaveReceivedAnyCommand();
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['no token', { action: 'registerDevice', platform: 'apns' }, 'bad_request'],
    ['an empty token', { action: 'registerDevice', platform: 'apns', token: '' }, 'bad_request'],
    [
      'a token that is not a string',
      { action: 'registerDevice', platform: 'apns', token: 12345 },
      'bad_request',
    ],
    [
      'a token over 4096 characters',
      { action: 'registerDevice', platform: 'apns', token: 'a'.repeat(4097) },
      'too_large',
    ],
    ['an unknown platform', { action: 'registerDevice', platform: 'wns', token: TOKEN }, 'bad_request'],
    ['no platform', { action: 'registerDevice', token: TOKEN }, 'bad_request'],
    ['a body that is not JSON', '{"action":"registerDevice",', 'bad_request'],
    ['a JSON array', '[]', 'bad_request'],
  ])('answers %s with %s and stores nothing', async (_case, body, code) => {
    const response = await handler(register(body), lambdaContext);

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body ?? '')).toMatchObject({ type: 'error', code, action: 'registerDevice' });
    expect(sns).not.toHaveReceivedAnyCommand();
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('answers bad_request when the push platform refuses the token, and stores nothing', async () => {
    sns.on(CreatePlatformEndpointCommand).rejects(
      new InvalidParameterException({
        message:
          'Invalid parameter: Token Reason: iOS device tokens must be no more than 400 hexadecimal characters',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    const response = await handler(register(), lambdaContext);

    expect(response).toEqual(errorReply('bad_request', 'token: refused by the push platform'));
    onlyRateBucketAsked();
  });

  it('answers internal when SNS fails, without internals, and stores nothing', async () => {
    sns.on(CreatePlatformEndpointCommand).rejects(
      new InternalErrorException({
        message: 'Internal failure arn:aws:sns:...',
        $metadata: { httpStatusCode: 500 },
      }),
    );

    const response = await handler(register(), lambdaContext);

    expect(response).toEqual(
      errorReply('internal', 'the server failed; retry (with the same clientMessageId)'),
    );
    onlyRateBucketAsked();
  });
});

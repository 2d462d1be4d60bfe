/**
 * Guarantee 8 of architecture.md against DynamoDB Local: a stream record retried after a partial
 * failure pushes each offline device at most once. The retry re-posts frames (at least once is the
 * protocol), but the push receipts, real conditional puts, stop the second Publish.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { handler } from '../../functions/stream/delivery.ts';
import { queuedFailures } from '../support/delivery-mocks.ts';
import { seedGroupConversation } from '../support/seed.ts';
import { messageInsert, streamEvent } from '../support/stream-events.ts';

const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const CONVERSATION = 'g_push_once';
const CAROL_PHONE = 'PqA1ccc3DoECCCC=';
const SEQUENCE_NUMBER = '4421584800000000017450442000';
const DEVICES = ['iphone-bob', 'ipad-bob'];

const put = (Item: Record<string, unknown>) => dynamo.send(new PutCommand({ TableName: TABLE_NAME, Item }));
const serverError = () =>
  Object.assign(new Error('Internal server error'), {
    name: 'InternalServerErrorException',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });

const MESSAGE = {
  ...keys.message(CONVERSATION, 1),
  type: 'message',
  conversationId: CONVERSATION,
  seq: 1,
  messageId: '01JDB9P0SH0NCE000000000001',
  senderId: 'alice',
  senderName: 'Alice',
  content: 'Dinner at eight?',
  createdAt: '2026-12-01T18:00:00.000Z',
  clientMessageId: 'push-once-1',
  originConnectionId: 'PqA1aaa1DoECAAA=',
};

describe('a record retried after a partial failure', () => {
  beforeAll(async () => {
    // GIVEN alice, bob (offline, two devices) and carol (online) in a group, and alice's message
    await seedGroupConversation(CONVERSATION, ['alice', 'bob', 'carol']);
    await Promise.all(
      DEVICES.map((deviceId, i) =>
        put({
          ...keys.device('bob', deviceId),
          type: 'device',
          userId: 'bob',
          deviceId,
          platform: 'apns',
          token: `${i}`.repeat(64),
          endpointArn: `arn:aws:sns:us-east-1:123456789012:endpoint/APNS/parley/${deviceId}`,
          registeredAt: '2026-11-01T12:00:00.000Z',
        }),
      ),
    );
    await put({
      ...keys.connection('carol', CAROL_PHONE),
      type: 'connection',
      connectionId: CAROL_PHONE,
      userId: 'carol',
      connectedAt: '2026-12-01T17:00:00.000Z',
    });
    await put(MESSAGE);
    // carol's connection fails once with a 500, then works
    api.on(PostToConnectionCommand).rejectsOnce(serverError()).resolves({});
    sns.on(PublishCommand).resolves({ MessageId: 'p' });
  });

  afterAll(() => {
    api.restore();
    sns.restore();
  });

  it('pushes each of bob’s devices once, although the record was delivered twice', async () => {
    const record = messageInsert(MESSAGE, SEQUENCE_NUMBER);

    // WHEN the first attempt fails for carol and Lambda retries the record
    const first = await handler(streamEvent(record));
    const second = await handler(streamEvent(structuredClone(record)));

    // THEN the first attempt asked for the retry, the second succeeded
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: SEQUENCE_NUMBER }] });
    expect(second).toEqual({ batchItemFailures: [] });
    // AND carol got the frame (on the retry), bob's two devices one push each
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 2);
    const targets = sns.commandCalls(PublishCommand).map((call) => call.args[0].input.TargetArn);
    expect(targets.sort()).toEqual(
      DEVICES.map((d) => `arn:aws:sns:us-east-1:123456789012:endpoint/APNS/parley/${d}`).sort(),
    );
    // AND the receipts are in the table, with a TTL
    for (const deviceId of DEVICES) {
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: TABLE_NAME, Key: keys.pushReceipt(CONVERSATION, 1, 'bob', deviceId) }),
      );
      expect(Item).toMatchObject({ type: 'pushReceipt', expiresAt: expect.any(Number) });
    }
    expect(queuedFailures(sns)).toEqual([]);
  });
});

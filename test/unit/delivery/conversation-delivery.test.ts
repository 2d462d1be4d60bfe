/**
 * Delivery of a new conversation (the stream INSERT of its `META` item): the `conversation` frame to
 * every connection of every member but the creating connection, nothing to deactivated members, no
 * push, and its failures settled like those of messages and reads.
 */
import {
  ApiGatewayManagementApiClient,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/stream/delivery.ts';
import {
  mockConversation,
  mockFailedAttempts,
  mockFailureTopic,
  mockUsers,
  postedCalls,
  postedFrames,
  queuedFailures,
} from '../../support/delivery-mocks.ts';
import { conversationInsert, messageInsert, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const GROUP = 'grp_5d1c7a2e-8f3b-4c6d-9e0a-1b2c3d4e5f60';
const ORIGIN = 'CfQ3bfF3DoECJqQ=';
const ALICE_LAPTOP = 'CfQ3cAb1DoECJwA=';
const BOB_PHONE = 'CfQ3dXy2DoECKbQ=';
const CAROL_PHONE = 'CfQ3fRt5DoECMdQ=';
const CAROL_TABLET = 'CfQ3gSu6DoECNeA=';
const SEQUENCE_NUMBER = '4421584600000000017450440021';
const BOB_DEVICE = {
  deviceId: 'iphone-bob',
  platform: 'apns',
  token: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
  endpointArn: 'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/3f1d2c4b-5a69-4e7f-8d0c-1b2a3c4d5e6f',
} as const;

const GROUP_FRAME = {
  type: 'conversation',
  conversationId: GROUP,
  kind: 'group',
  members: ['alice', 'bob', 'carol'],
  title: 'Weekend trip',
  createdAt: '2026-12-01T09:15:30.250Z',
};

/** The conversation item as delivery reads it now (strongly consistently for a group). */
function mockStoredConversation(conversation: Record<string, unknown>): void {
  const { type: _, ...item } = conversation;
  ddb.on(GetCommand, { Key: { PK: `CONV#${String(item.conversationId)}`, SK: 'META' } }).resolves({
    Item: { PK: `CONV#${String(item.conversationId)}`, SK: 'META', type: 'conversation', ...item },
  });
}

describe('delivery of a new conversation', () => {
  beforeEach(() => {
    mockStoredConversation(GROUP_FRAME);
    mockUsers(ddb, {
      alice: { connections: [ORIGIN, ALICE_LAPTOP] },
      bob: { connections: [BOB_PHONE], devices: [BOB_DEVICE] },
      carol: { connections: [CAROL_PHONE, CAROL_TABLET] },
    });
    ddb.on(DeleteCommand).resolves({});
    api.on(PostToConnectionCommand).resolves({});
    mockFailureTopic(sns);
  });

  afterEach(() => {
    ddb.reset();
    api.reset();
    sns.reset();
  });

  it('posts the conversation frame to every connection of every member but the creating one', async () => {
    // WHEN
    const result = await handler(streamEvent(conversationInsert()));

    // THEN the creator's other device and every other member's connections get exactly the protocol's fields
    expect(result).toEqual({ batchItemFailures: [] });
    const frames = postedFrames(api);
    expect([...frames.keys()].sort()).toEqual([ALICE_LAPTOP, BOB_PHONE, CAROL_PHONE, CAROL_TABLET].sort());
    for (const frame of frames.values()) expect(frame).toEqual(GROUP_FRAME);
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 4);
  });

  it('reads the group as it is now, strongly consistently, and each member partition once, and writes nothing', async () => {
    await handler(streamEvent(conversationInsert()));

    // The record's image may be older than a leave: the members are read at delivery.
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { PK: `CONV#${GROUP}`, SK: 'META' },
      ConsistentRead: true,
    });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 3);
    for (const userId of ['alice', 'bob', 'carol']) {
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
        ExpressionAttributeValues: { ':pk': `USER#${userId}` },
      });
    }
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('pushes nothing, even to a member with no open connection', async () => {
    mockUsers(ddb, { bob: { devices: [BOB_DEVICE] } });

    const result = await handler(streamEvent(conversationInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(postedFrames(api).has(BOB_PHONE)).toBe(false);
  });

  it('sends nothing to a deactivated member', async () => {
    mockUsers(ddb, { carol: { connections: [CAROL_PHONE, CAROL_TABLET], deactivated: true } });

    await handler(streamEvent(conversationInsert()));

    expect([...postedFrames(api).keys()].sort()).toEqual([ALICE_LAPTOP, BOB_PHONE].sort());
  });

  it('posts a direct conversation, made by its first message, to both users’ connections', async () => {
    // GIVEN the conversation item sendMessage's first message wrote: no title, no origin connection
    const direct = conversationInsert({
      conversationId: 'dm_alice_bob',
      kind: 'direct',
      members: ['alice', 'bob'],
      title: null,
      originConnectionId: undefined,
    });
    // (no consent yet: only the first message's sender has written; a backend-made one is
    // test/integration/server-api.test.ts's)
    const unanswered = { sent: false, peerSent: false };
    mockConversation(ddb, 'dm_alice_bob', ['alice', 'bob'], 'direct', { alice: unanswered, bob: unanswered });
    mockStoredConversation({
      ...GROUP_FRAME,
      conversationId: 'dm_alice_bob',
      kind: 'direct',
      members: ['alice', 'bob'],
      title: null,
    });

    const result = await handler(streamEvent(direct));

    expect(result).toEqual({ batchItemFailures: [] });
    const frames = postedFrames(api);
    expect([...frames.keys()].sort()).toEqual([ORIGIN, ALICE_LAPTOP, BOB_PHONE].sort());
    for (const frame of frames.values()) {
      expect(frame).toEqual({
        type: 'conversation',
        conversationId: 'dm_alice_bob',
        kind: 'direct',
        members: ['alice', 'bob'],
        title: null,
        createdAt: '2026-12-01T09:15:30.250Z',
      });
    }
  });

  it('delivers the conversation before the first message of the same batch', async () => {
    mockUsers(ddb, { carol: {} });
    ddb.on(UpdateCommand).resolves({});
    const first = messageInsert({ conversationId: GROUP, seq: 1 }, '4421584600000000017450440099');

    await handler(streamEvent(conversationInsert(), first));

    expect(postedCalls(api).filter(({ connectionId }) => connectionId === BOB_PHONE)).toEqual([
      { connectionId: BOB_PHONE, frame: GROUP_FRAME },
      { connectionId: BOB_PHONE, frame: expect.objectContaining({ type: 'message', seq: 1 }) },
    ]);
  });

  it('deletes a connection that answered 410 and still delivers to the others', async () => {
    api
      .on(PostToConnectionCommand, { ConnectionId: CAROL_TABLET })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    const result = await handler(streamEvent(conversationInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(DeleteCommand, {
      TableName: 'parley-test',
      Key: { PK: 'USER#carol', SK: `CONN#${CAROL_TABLET}` },
    });
    expect(api).toHaveReceivedCommandWith(PostToConnectionCommand, { ConnectionId: CAROL_PHONE });
  });

  it('retries the record when a post is throttled, holding back the same conversation’s next record', async () => {
    // GIVEN bob's post is throttled, and the group's first message follows in the batch
    api
      .on(PostToConnectionCommand, { ConnectionId: BOB_PHONE })
      .rejects(new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));
    mockFailedAttempts(ddb, 1);
    const next = messageInsert({ conversationId: GROUP, seq: 1 }, '4421584600000000017450440099');

    // WHEN
    const result = await handler(streamEvent(conversationInsert(), next));

    // THEN Lambda retries from the conversation; the message waits for that retry
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: SEQUENCE_NUMBER }] });
    expect(postedCalls(api).map(({ frame }) => frame.type)).not.toContain('message');
    expect(queuedFailures(sns)).toEqual([]);
  });

  it('records a permanent post failure in the on-failure queue by the conversation’s id, and moves on', async () => {
    api
      .on(PostToConnectionCommand, { ConnectionId: BOB_PHONE })
      .rejects(new ForbiddenException({ message: 'Forbidden', $metadata: { httpStatusCode: 403 } }));

    const result = await handler(streamEvent(conversationInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    const [entry] = queuedFailures(sns);
    expect(entry).toEqual({
      version: 1,
      source: 'parley.delivery',
      class: 'permanent',
      kind: 'conversation',
      conversationId: GROUP,
      recipients: ['bob'],
      failures: [
        {
          userId: 'bob',
          connectionId: BOB_PHONE,
          class: 'permanent',
          error: 'ForbiddenException',
          status: 403,
        },
      ],
      attempts: 1,
      eventId: 'e4da3b7fbbce2345d7772b0674a318d5',
      recordedAt: expect.any(String),
    });
    expect(queuedFailures(sns)).toHaveLength(1);
  });

  it('gives up after the last attempt and records the conversation as gave_up', async () => {
    api
      .on(PostToConnectionCommand, { ConnectionId: BOB_PHONE })
      .rejects(new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));
    mockFailedAttempts(ddb, 5);

    const result = await handler(streamEvent(conversationInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(queuedFailures(sns)).toEqual([
      expect.objectContaining({ class: 'gave_up', kind: 'conversation', conversationId: GROUP, attempts: 5 }),
    ]);
  });

  it.each([
    ['no members', { members: undefined }],
    ['members that are not strings', { members: ['alice', 7] }],
    ['an unknown kind', { kind: 'channel' }],
    ['no createdAt', { createdAt: undefined }],
    ['a title that is not a string', { title: 12 }],
  ])('skips a conversation item with %s rather than blocking the shard', async (_case, fields) => {
    const result = await handler(streamEvent(conversationInsert(fields)));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(api).not.toHaveReceivedAnyCommand();
  });
});

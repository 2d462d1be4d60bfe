/**
 * Leaving is immediate (protocol.md 1.2): the leave's own stored change posts `left` to every connection
 * of the leaver, and delivery decides a group's audience with a strongly consistent read, so a member
 * who just left gets nothing more.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/stream/delivery.ts';
import { mockConversation, mockFailureTopic, mockUsers, postedFrames } from '../../support/delivery-mocks.ts';
import { messageInsert, readModify, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const GROUP = 'grp_5d1c7a2e-8f3b-4c6d-9e0a-1b2c3d4e5f60';
const DM = 'dm_c2lsdmVyLXN0cmVhbS1hbGljZS1ib2I';
const CAROL_PHONE = 'CfQ3fRt5DoECMdQ=';
const CAROL_TABLET = 'CfQ3gSu6DoECNeA=';
const BOB_PHONE = 'CfQ3dXy2DoECKbQ=';

const memberRemove = (conversationId: string, userId: string): DynamoDBRecord => {
  const key = { PK: `CONV#${conversationId}`, SK: `MEMBER#${userId}` };
  return {
    eventID: 'c4ca4238a0b923820dcc509a6f75849b',
    eventName: 'REMOVE',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: marshall(key) as never,
      OldImage: marshall({ ...key, type: 'member', conversationId, userId, readSeq: 3 }) as never,
      SequenceNumber: '4421584800000000017450450001',
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
};

describe('leaving is immediate', () => {
  beforeEach(() => {
    mockUsers(ddb, {
      alice: { connections: ['CfQ3bfF3DoECJqQ='] },
      bob: { connections: [BOB_PHONE] },
      carol: { connections: [CAROL_PHONE, CAROL_TABLET] },
    });
    ddb.on(DeleteCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    api.on(PostToConnectionCommand).resolves({});
    mockFailureTopic(sns);
  });

  afterEach(() => {
    ddb.reset();
    api.reset();
    sns.reset();
  });

  it('posts `left` to every connection of a group leaver once their member item is removed', async () => {
    mockConversation(ddb, GROUP, ['alice', 'bob'], 'group');

    const result = await handler(streamEvent(memberRemove(GROUP, 'carol')));

    expect(result).toEqual({ batchItemFailures: [] });
    const frames = postedFrames(api);
    expect([...frames.keys()].sort()).toEqual([CAROL_PHONE, CAROL_TABLET].sort());
    for (const frame of frames.values()) expect(frame).toEqual({ type: 'left', conversationId: GROUP });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { PK: `CONV#${GROUP}`, SK: 'META' },
      ConsistentRead: true,
    });
  });

  it('posts `left` to the connections of a user who hid a direct conversation', async () => {
    mockConversation(ddb, DM, ['alice', 'bob'], 'direct', { bob: { hiddenUntilSeq: 4, lastSeq: 4 } });
    const hidden = readModify(
      { conversationId: DM, userId: 'bob', hiddenUntilSeq: 4, changedBy: 'leave' },
      { changedBy: 'delivery' },
    );

    await handler(streamEvent(hidden));

    expect(postedFrames(api)).toEqual(new Map([[BOB_PHONE, { type: 'left', conversationId: DM }]]));
  });

  it('reads a group strongly consistently for a message: a member who left gets nothing', async () => {
    // GIVEN carol left: the consistent read no longer lists her (an eventual one might)
    mockConversation(ddb, GROUP, ['alice', 'bob'], 'group');

    await handler(streamEvent(messageInsert({ conversationId: GROUP, senderId: 'alice', seq: 8 })));

    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { PK: `CONV#${GROUP}`, SK: 'META' },
      ConsistentRead: true,
    });
    expect(postedFrames(api).has(CAROL_PHONE)).toBe(false);
    expect(postedFrames(api).has(BOB_PHONE)).toBe(true);
  });

  it('keeps a direct message committed before the hide from the user who hid it', async () => {
    mockConversation(ddb, DM, ['alice', 'bob'], 'direct', { bob: { hiddenUntilSeq: 7 } });

    await handler(streamEvent(messageInsert({ conversationId: DM, senderId: 'alice', seq: 7 })));

    expect(postedFrames(api).has(BOB_PHONE)).toBe(false);
    expect(ddb).not.toHaveReceivedCommandWith(UpdateCommand, { Key: { SK: 'MEMBER#bob' } });
  });
});

/**
 * Delivery of a group a member left (the stream MODIFY of its `META` item with `changedBy: 'leave'`):
 * the `conversation` frame with the new members to every connection of the remaining members, the
 * creator's original connection included (it was skipped only for the creation), nothing to the leaver.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SNSClient } from '@aws-sdk/client-sns';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/stream/delivery.ts';
import { toDeliveryEvent } from '../../../functions/stream/records.ts';
import { mockFailureTopic, mockUsers, postedFrames } from '../../support/delivery-mocks.ts';
import { conversationInsert, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const GROUP = 'grp_5d1c7a2e-8f3b-4c6d-9e0a-1b2c3d4e5f60';
const ORIGIN = 'CfQ3bfF3DoECJqQ=';
const ALICE_LAPTOP = 'CfQ3cAb1DoECJwA=';
const BOB_PHONE = 'CfQ3dXy2DoECKbQ=';
const CAROL_PHONE = 'CfQ3fRt5DoECMdQ=';

/** carol left "Weekend trip" {alice, bob, carol}, created by alice's phone connection. */
const leftModify = (fields: Record<string, unknown> = {}): DynamoDBRecord => ({
  ...conversationInsert({
    members: ['alice', 'bob'],
    changedBy: 'leave',
    leftBy: 'carol',
    changedAt: '2026-12-02T10:00:00.000Z',
    ...fields,
  }),
  eventName: 'MODIFY',
});

describe('delivery of a group a member left', () => {
  beforeEach(() => {
    mockUsers(ddb, {
      alice: { connections: [ORIGIN, ALICE_LAPTOP] },
      bob: { connections: [BOB_PHONE] },
      carol: { connections: [CAROL_PHONE] },
    });
    // The group as it is now, read at delivery (strongly consistently), not the record's image.
    ddb.on(GetCommand, { Key: { PK: `CONV#${GROUP}`, SK: 'META' } }).resolves({
      Item: {
        PK: `CONV#${GROUP}`,
        SK: 'META',
        type: 'conversation',
        conversationId: GROUP,
        kind: 'group',
        members: ['alice', 'bob'],
        title: 'Weekend trip',
        createdAt: '2026-12-01T09:15:30.250Z',
      },
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

  it('posts the new member list to every connection of the remaining members, none to the leaver', async () => {
    const result = await handler(streamEvent(leftModify()));

    expect(result).toEqual({ batchItemFailures: [] });
    const frames = postedFrames(api);
    expect([...frames.keys()].sort()).toEqual([ORIGIN, ALICE_LAPTOP, BOB_PHONE].sort());
    for (const frame of frames.values()) {
      expect(frame).toEqual({
        type: 'conversation',
        conversationId: GROUP,
        kind: 'group',
        members: ['alice', 'bob'],
        title: 'Weekend trip',
        createdAt: '2026-12-01T09:15:30.250Z',
      });
    }
  });

  it('skips any other change of a conversation item', () => {
    expect(toDeliveryEvent(leftModify({ changedBy: undefined }))).toMatchObject({
      kind: 'skip',
      malformed: false,
    });
    expect(toDeliveryEvent(leftModify({ changedBy: 'create' }))).toMatchObject({ kind: 'skip' });
  });
});

/**
 * Delivery of changed messages (a MODIFY of the message item): `messageUpdated` with the message's
 * whole current state to every connection of every member, the changer's own included, no push; and
 * within one batch, only the last change of each message is delivered.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/stream/delivery.ts';
import { mockConversation, mockUsers, postedCalls, postedFrames } from '../../support/delivery-mocks.ts';
import { messageModify, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const ALICE_PHONE = 'CfQ3bfF3DoECJqQ=';
const BOB_PHONE = 'CfQ3dXy2DoECKbQ=';
const BOB_LAPTOP = 'CfQ3eKp4DoECLcA=';

const UPDATE_BASE = {
  type: 'messageUpdated',
  conversationId: 'd_alice_bob',
  messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F',
  seq: 7,
  // The version the change stored on the item.
  version: 7_000_003,
};

describe('delivery of a changed message', () => {
  beforeEach(() => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob']);
    mockUsers(ddb, {
      alice: { connections: [ALICE_PHONE] },
      bob: { connections: [BOB_PHONE, BOB_LAPTOP] },
    });
    api.on(PostToConnectionCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
    api.reset();
    sns.reset();
  });

  it("posts the edited message to every member's connections, the editor's own included, and pushes nothing", async () => {
    const result = await handler(
      streamEvent(
        messageModify({
          content: 'Lunch at one instead?',
          editedAt: '2026-11-23T10:31:00.000Z',
          version: 7_000_003,
        }),
      ),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    const frames = postedFrames(api);
    expect([...frames.keys()].sort()).toEqual([ALICE_PHONE, BOB_LAPTOP, BOB_PHONE].sort());
    for (const frame of frames.values()) {
      expect(frame).toEqual({
        ...UPDATE_BASE,
        content: 'Lunch at one instead?',
        editedAt: '2026-11-23T10:31:00.000Z',
        deleted: false,
        reactions: {},
      });
    }
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('carries the reactions, sorted, from the per-emoji sets of the item', async () => {
    await handler(
      streamEvent(
        messageModify({
          'R#👍': new Set(['carol', 'bob']),
          'U#bob': new Set(['👍']),
          reactionEmoji: new Set(['👍']),
        }),
      ),
    );
    expect(postedFrames(api).get(BOB_PHONE)).toMatchObject({
      editedAt: null,
      reactions: { '👍': ['bob', 'carol'] },
    });
  });

  it('delivers a tombstone with empty content and no reactions', async () => {
    await handler(
      streamEvent(
        messageModify({
          content: '',
          deleted: true,
          deletedAt: '2026-11-23T10:32:00.000Z',
          'R#🎉': new Set(['bob']),
          version: 7_000_003,
        }),
      ),
    );
    expect(postedFrames(api).get(ALICE_PHONE)).toEqual({
      ...UPDATE_BASE,
      content: '',
      editedAt: null,
      deleted: true,
      reactions: {},
    });
  });

  it('coalesces a burst of changes to one message in a batch into its last state', async () => {
    const burst = ['bob', 'carol', 'dan', 'erin'].map((_, index, users) =>
      messageModify({ 'R#❤️': new Set(users.slice(0, index + 1)) }, `44215845000000000174504391${10 + index}`),
    );
    const result = await handler(streamEvent(...burst));
    expect(result).toEqual({ batchItemFailures: [] });
    const updates = postedCalls(api, 'messageUpdated');
    // One per connection, not four: the last image holds every reaction.
    expect(updates).toHaveLength(3);
    for (const { frame } of updates)
      expect(frame.reactions).toEqual({ '❤️': ['bob', 'carol', 'dan', 'erin'] });
  });

  it('keeps changes to different messages apart', async () => {
    await handler(
      streamEvent(
        messageModify(
          { content: 'first', editedAt: '2026-11-23T10:31:00.000Z' },
          '4421584500000000017450439110',
        ),
        messageModify(
          { seq: 8, messageId: 'msg-8', content: 'second', editedAt: '2026-11-23T10:31:01.000Z' },
          '4421584500000000017450439111',
        ),
      ),
    );
    const seqs = postedCalls(api, 'messageUpdated')
      .filter((call) => call.connectionId === BOB_PHONE)
      .map((call) => call.frame.seq);
    expect(seqs).toEqual([7, 8]);
  });
});

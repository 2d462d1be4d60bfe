/**
 * One batch, several conversations: the delivery handler delivers different conversations at the same
 * time, each conversation's records one after another in `seq` order, and a record that must be
 * retried holds back only its own conversation.
 */
import {
  ApiGatewayManagementApiClient,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/stream/delivery.ts';
import { mockConversation, mockUsers, postedCalls } from '../../support/delivery-mocks.ts';
import { messageInsert, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const BOB_PHONE = 'CfQ3dXy2DoECKbQ=';
const DAN_PHONE = 'CfQ3fTz9DoECMdA=';

/** Message `seq` of alice to bob (conversation A) or of carol to dan (conversation B). */
const toBob = (seq: number) =>
  messageInsert(
    { conversationId: 'd_alice_bob', seq, messageId: `01JDB4V0000000000000000A${seq}0` },
    `4421584500000000017450439${seq}10`,
  );
const toDan = (seq: number) =>
  messageInsert(
    {
      conversationId: 'd_carol_dan',
      seq,
      senderId: 'carol',
      originConnectionId: 'CfQ3gHh1DoECNeA=',
      messageId: `01JDB4V0000000000000000B${seq}0`,
    },
    `4421584500000000017450439${seq}20`,
  );

/** A promise and the function that settles it. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

/** Bob's posts finish only once a post to dan has been made. */
function bobWaitsForDan(): void {
  const danPosted = signal();
  api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).callsFake(async () => {
    await danPosted.promise;
    return {};
  });
  api.on(PostToConnectionCommand, { ConnectionId: DAN_PHONE }).callsFake(async () => {
    danPosted.fire();
    return {};
  });
}

describe('a batch of several conversations', () => {
  beforeEach(() => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob']);
    mockConversation(ddb, 'd_carol_dan', ['carol', 'dan']);
    mockUsers(ddb, {
      alice: { connections: [] },
      bob: { connections: [BOB_PHONE] },
      carol: { connections: [] },
      dan: { connections: [DAN_PHONE] },
    });
    ddb.on(UpdateCommand).resolves({ Attributes: { readSeq: 0, lastSeq: 9 } });
    api.on(PostToConnectionCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
    api.reset();
    sns.reset();
  });

  it('delivers another conversation while one is still posting', async () => {
    // GIVEN bob's post does not finish until dan's has been made: one at a time, this batch never ends
    bobWaitsForDan();

    const result = await handler(streamEvent(toBob(7), toDan(3)));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(postedCalls(api, 'message').map(({ frame }) => [frame.conversationId, frame.seq])).toEqual([
      ['d_alice_bob', 7],
      ['d_carol_dan', 3],
    ]);
  });

  it("keeps one conversation's records in seq order, the next started only once the last is done", async () => {
    bobWaitsForDan();

    await handler(streamEvent(toBob(7), toDan(3), toBob(8)));

    // bob's 8 waited for his 7, which waited for dan's 3: 8 is posted last
    expect(postedCalls(api, 'message').map(({ frame }) => frame.seq)).toEqual([7, 3, 8]);
  });

  it('holds back only the conversation of a record to retry', async () => {
    api
      .on(PostToConnectionCommand, { ConnectionId: BOB_PHONE })
      .rejects(new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));

    const result = await handler(streamEvent(toBob(7), toDan(3), toBob(8), toDan(4)));

    // 7 is retried (and 8 with it, as Lambda retries from 7); dan's conversation went on
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '4421584500000000017450439710' }] });
    const posted = postedCalls(api, 'message').map(({ frame }) => [frame.conversationId, frame.seq]);
    expect(posted).toEqual([
      ['d_alice_bob', 7],
      ['d_carol_dan', 3],
      ['d_carol_dan', 4],
    ]);
  });

  it('fails the whole batch on an unexpected error, after the other conversations were delivered', async () => {
    // A record to retry without a sequence number cannot be reported on its own
    const unpinned = toBob(7);
    if (unpinned.dynamodb !== undefined) delete unpinned.dynamodb.SequenceNumber;
    api
      .on(PostToConnectionCommand, { ConnectionId: BOB_PHONE })
      .rejects(new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));

    await expect(handler(streamEvent(unpinned, toDan(3), toDan(4)))).rejects.toThrow(
      'a record to retry has no sequence number',
    );
    expect(postedCalls(api, 'message').map(({ frame }) => frame.seq)).toEqual([7, 3, 4]);
  });
});

/**
 * A failed sendMessage never creates a conversation (protocol.md 1.2, "safety between users"): a first
 * message to a new user that is refused for its attachments leaves no conversation, no member items and
 * nothing in either user's list, against DynamoDB Local and the real handler; the same message with
 * nothing wrong with it then creates the conversation.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { directConversationId, uploadIdFor } from '../../functions/domain/identifiers.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';

type Frame = Record<string, unknown>;

async function call(handler: typeof sendMessage, frame: Frame, userId: string): Promise<Frame> {
  return JSON.parse((await handler(messageEvent(frame, { userId }), lambdaContext)).body ?? '{}') as Frame;
}

describe('a first message that is refused', () => {
  it('creates no conversation, no member item and no list entry; sent again without the fault, it does', async () => {
    const run = randomUUID().slice(0, 8);
    const [sender, stranger] = [`ivy-${run}`, `jon-${run}`];
    const conversationId = directConversationId(sender, stranger);
    const frame = { action: 'sendMessage', to: stranger, clientMessageId: 'first', content: 'hi' };

    // An upload that was never requested, and another user's.
    for (const uploadId of [uploadIdFor(sender, 'never-requested'), uploadIdFor(stranger, 'theirs')]) {
      const answer = await call(sendMessage, { ...frame, attachments: [{ uploadId }] }, sender);
      expect(answer).toMatchObject({ type: 'error', action: 'sendMessage' });
      expect(['not_found', 'forbidden']).toContain(answer.code);
    }

    const { Item } = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: keys.conversation(conversationId), ConsistentRead: true }),
    );
    expect(Item).toBeUndefined();
    const { Items } = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': `CONV#${conversationId}` },
        ConsistentRead: true,
      }),
    );
    expect(Items).toEqual([]);
    for (const userId of [sender, stranger]) {
      expect(await call(sync, { action: 'sync' }, userId)).toMatchObject({ conversations: [] });
    }

    // The same clientMessageId without the attachment: the conversation and its message are created.
    expect(await call(sendMessage, frame, sender)).toMatchObject({ type: 'ack', conversationId, seq: 1 });
  });
});

/** Puts items straight into the integration test's table, for states the routes of Core I cannot make. */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { memberItem } from '../../functions/adapters/conversation-store.ts';
import { conversationPartition, keys, MESSAGE_PREFIX } from '../../functions/adapters/keys.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';

export async function seedGroupConversation(conversationId: string, members: string[]): Promise<void> {
  const createdAt = new Date().toISOString();
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        ...keys.conversation(conversationId),
        type: 'conversation',
        conversationId,
        kind: 'group',
        members,
        title: 'Seeded group',
        createdAt,
      },
    }),
  );
  await Promise.all(
    members.map((member) =>
      dynamo.send(
        new PutCommand({
          TableName: TABLE_NAME,
          Item: memberItem(
            { conversationId, kind: 'group', members, title: 'Seeded group' },
            member,
            createdAt,
          ),
        }),
      ),
    ),
  );
}

export async function seedUserState(userId: string, state: { deactivated?: boolean }): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: { ...keys.userState(userId), type: 'userState', userId, ...state },
    }),
  );
}

/** Every message item of a conversation, in `seq` order (strongly consistent). */
export async function storedMessages(conversationId: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
        ExpressionAttributeValues: { ':pk': conversationPartition(conversationId), ':msg': MESSAGE_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

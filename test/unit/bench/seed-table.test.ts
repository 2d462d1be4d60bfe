/** The other users bench/flat-cost.ts puts in the table (bench/seed-table.ts). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  ITEMS_PER_USER,
  otherUserId,
  otherUserItems,
  RING,
  seedOtherUsers,
} from '../../../bench/seed-table.ts';
import { memberItem } from '../../../functions/adapters/conversation-store.ts';
import { keys } from '../../../functions/adapters/keys.ts';
import { directConversationId } from '../../../functions/domain/identifiers.ts';

const AT = new Date('2026-01-02T03:04:05.000Z');
const itemsOf = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => otherUserItems(from + i, AT)).flat();
const ofType = (items: Record<string, unknown>[], type: string) => items.filter((item) => item.type === type);

describe('the other users’ items', () => {
  it('gives each user one connection and starts one direct conversation with one message', () => {
    const items = otherUserItems(3, AT);
    expect(items).toHaveLength(ITEMS_PER_USER);
    const conversationId = directConversationId('other-3', 'other-4');
    expect(items.map((item) => item.type)).toEqual([
      'connection',
      'conversation',
      'member',
      'member',
      'message',
    ]);
    expect(items[1]).toMatchObject({
      ...keys.conversation(conversationId),
      kind: 'direct',
      createdBy: 'other-3',
    });
    expect(items[4]).toMatchObject({ ...keys.message(conversationId, 1), seq: 1, senderId: 'other-3' });
  });

  it('builds member items as the conversation store does', () => {
    const [, , sender, recipient] = otherUserItems(9, AT);
    const conversationId = directConversationId('other-9', 'other-0');
    const conversation = {
      conversationId,
      kind: 'direct' as const,
      members: ['other-9', 'other-0'].sort(),
      title: null,
    };
    expect(sender).toEqual(memberItem(conversation, 'other-9', AT.toISOString()));
    expect(recipient).toEqual(memberItem(conversation, 'other-0', AT.toISOString()));
  });

  it('puts every user in two conversations of its own ring, so adding rings changes none', () => {
    const items = itemsOf(0, 3 * RING);
    const keysSeen = new Set(items.map((item) => `${item.PK} ${item.SK}`));
    expect(keysSeen.size).toBe(items.length);
    for (let k = 0; k < 3 * RING; k++) {
      const conversations = ofType(items, 'member').filter((item) => item.userId === otherUserId(k));
      expect(conversations).toHaveLength(2);
      const ring = Math.floor(k / RING);
      for (const member of conversations)
        expect(Math.floor(Number(String(member.peer).slice('other-'.length)) / RING)).toBe(ring);
    }
    expect(ofType(items, 'conversation')).toHaveLength(3 * RING);
    expect(ofType(items, 'message')).toHaveLength(3 * RING);
  });
});

describe('seedOtherUsers', () => {
  it('writes 25 items a call and asks again for what was left unprocessed', async () => {
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
    const mock = mockClient(client);
    const written: unknown[] = [];
    let first = true;
    mock.on(BatchWriteCommand).callsFake((input) => {
      const requests = input.RequestItems.table as { PutRequest: { Item: unknown } }[];
      expect(requests.length).toBeLessThanOrEqual(25);
      const [left, ...done] = requests;
      if (first && left !== undefined) {
        first = false;
        written.push(...done.map((request) => request.PutRequest.Item));
        return { UnprocessedItems: { table: [left] } };
      }
      written.push(...requests.map((request) => request.PutRequest.Item));
      return {};
    });
    const progress: number[] = [];
    const count = await seedOtherUsers(client, 'table', { from: RING, to: 4 * RING }, (done) =>
      progress.push(done),
    );
    expect(count).toBe(3 * RING * ITEMS_PER_USER);
    expect(written).toHaveLength(count);
    expect(new Set(written.map((item) => JSON.stringify(item)))).toHaveProperty('size', count);
    expect(progress.at(-1)).toBe(count);
  });

  it('refuses a range that is not whole rings', async () => {
    const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
    await expect(seedOtherUsers(client, 'table', { from: 0, to: RING + 1 })).rejects.toThrow(/whole rings/);
  });
});

/**
 * What a warm container remembers of conversations: a direct conversation is read once (it never
 * changes), a group every time (members join), a conversation not found is read again, and the memory
 * is bounded, dropping the least recently used.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { getConversation } from '../../../functions/adapters/conversation-store.ts';
import { knownDirectConversations } from '../../../functions/adapters/known-conversations.ts';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { BoundedCache } from '../../../functions/shared/bounded-cache.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const DIRECT = directConversationId('alice', 'bob');
const GROUP = 'grp_5b0c1f5e-8f0a-4c4e-9f3e-2a7d1c9b8e61';

const item = (conversationId: string, kind: 'direct' | 'group', members: string[]) => ({
  PK: `CONV#${conversationId}`,
  SK: 'META',
  type: 'conversation',
  conversationId,
  kind,
  members,
  title: kind === 'group' ? 'Weekend trip' : null,
  createdAt: '2026-11-20T08:00:00.000Z',
});

describe('conversations a warm container knows', () => {
  afterEach(() => ddb.reset());

  it('reads a direct conversation once, however often it is asked for', async () => {
    ddb.on(GetCommand).resolves({ Item: item(DIRECT, 'direct', ['alice', 'bob']) });

    const first = await getConversation(DIRECT);
    const again = await getConversation(DIRECT);
    const strongly = await getConversation(DIRECT, { consistent: true });

    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(again).toEqual(first);
    expect(strongly).toEqual(first);
    expect(first?.members).toEqual(['alice', 'bob']);
  });

  it('reads it again for a caller who is not a member: their refusal costs the same read either way', async () => {
    ddb.on(GetCommand).resolves({ Item: item(DIRECT, 'direct', ['alice', 'bob']) });
    await getConversation(DIRECT, { caller: 'alice' });

    await getConversation(DIRECT, { caller: 'eve' });
    await getConversation(DIRECT, { caller: 'bob' });

    // alice's read, then eve's; bob is answered from memory
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 2);
  });

  it('reads a group every time: its members change', async () => {
    ddb.on(GetCommand).resolves({ Item: item(GROUP, 'group', ['alice', 'bob', 'carol']) });

    await getConversation(GROUP);
    await getConversation(GROUP);

    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 2);
  });

  it('reads again a conversation that was not there', async () => {
    ddb
      .on(GetCommand)
      .resolvesOnce({})
      .resolves({ Item: item(DIRECT, 'direct', ['alice', 'bob']) });

    expect(await getConversation(DIRECT)).toBeUndefined();
    expect(await getConversation(DIRECT)).toBeDefined();
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 2);
  });

  it('remembers an item only when both its id and its kind say direct', async () => {
    // A malformed item under a direct id, or a "direct" item under another id, is never trusted for good
    ddb.on(GetCommand).resolves({ Item: item(DIRECT, 'group', ['alice', 'bob']) });
    await getConversation(DIRECT);
    ddb.on(GetCommand).resolves({ Item: item(GROUP, 'direct', ['alice', 'bob']) });
    await getConversation(GROUP);

    expect(knownDirectConversations.size).toBe(0);
  });
});

describe('BoundedCache', () => {
  it('keeps at most its capacity, dropping the least recently used', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.get('a'); // a is now the most recent
    cache.set('c', 3);

    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('replaces a value without growing', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('a', 2);

    expect(cache.get('a')).toBe(2);
    expect(cache.size).toBe(1);
  });
});

/**
 * (1.2) The demo page's split of the conversation list, without a browser: message requests (entries
 * with `request: true`) apart from the rest, each part in the list's order.
 */
import { describe, expect, it } from 'vitest';
import type { ConversationSummary } from '../../../client/src/index.ts';
import { splitRequests } from '../../../local/demo/conversation-list.ts';

const entry = (conversationId: string, request?: boolean): ConversationSummary => ({
  conversationId,
  kind: 'direct',
  members: ['alice', conversationId],
  title: null,
  lastSeq: 0,
  readSeq: 0,
  unread: 0,
  lastMessage: null,
  ...(request !== undefined && { request }),
});

describe('splitRequests', () => {
  it('puts the requests apart, in list order, and everything else in the conversations', () => {
    const { requests, others } = splitRequests([
      entry('bob', true),
      entry('cora'),
      entry('dan', true),
      entry('erin', false),
    ]);
    expect(requests.map((summary) => summary.conversationId)).toEqual(['bob', 'dan']);
    expect(others.map((summary) => summary.conversationId)).toEqual(['cora', 'erin']);
  });

  it('has no requests in a list without the field', () => {
    expect(splitRequests([entry('bob'), entry('cora')]).requests).toEqual([]);
  });
});

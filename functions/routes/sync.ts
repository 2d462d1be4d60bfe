import { listConversations } from '../domain/conversation-list.ts';
import { BadRequestError } from '../domain/errors.ts';
import { syncMessages } from '../domain/sync-messages.ts';
import { syncFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

/**
 * `sync`: with `conversationId`, a page of that conversation's messages (`messages`); without, a page
 * of the caller's conversation list (`conversations`), continued by `cursor`.
 */
export const handler = defineRoute('sync', syncFrame, ({ frame, caller }) => {
  if (frame.conversationId === undefined) {
    return listConversations({ caller, cursor: frame.cursor, limit: frame.limit });
  }
  if (frame.cursor !== undefined) {
    throw new BadRequestError('cursor: only for the conversation list (sync without conversationId)');
  }
  return syncMessages({
    caller,
    conversationId: frame.conversationId,
    afterSeq: frame.afterSeq,
    limit: frame.limit,
  });
});

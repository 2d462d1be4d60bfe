import { listConversations } from '../domain/conversation-list.ts';
import { BadRequestError } from '../domain/errors.ts';
import { syncChanges } from '../domain/sync-changes.ts';
import { syncMessages } from '../domain/sync-messages.ts';
import { syncFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

/**
 * `sync`: with `conversationId`, a page of that conversation's messages (`messages`); without, a page
 * of the caller's conversation list (`conversations`), continued by `cursor`.
 */
export const handler = defineRoute('sync', syncFrame, ({ frame, caller }) => {
  if (frame.conversationId === undefined) {
    if (frame.afterVersion !== undefined) {
      throw new BadRequestError('afterVersion: only with conversationId (the list carries each version)');
    }
    return listConversations({ caller, cursor: frame.cursor, limit: frame.limit });
  }
  if (frame.cursor !== undefined) {
    throw new BadRequestError('cursor: only for the conversation list (sync without conversationId)');
  }
  if (frame.afterVersion !== undefined) {
    if (frame.afterSeq !== undefined) throw new BadRequestError('afterSeq, afterVersion: give one of them');
    return syncChanges({
      caller,
      conversationId: frame.conversationId,
      afterVersion: frame.afterVersion,
      limit: frame.limit,
    });
  }
  return syncMessages({
    caller,
    conversationId: frame.conversationId,
    afterSeq: frame.afterSeq ?? 0,
    limit: frame.limit,
  });
});

import { BadRequestError } from '../domain/errors.ts';
import { syncMessages } from '../domain/sync-messages.ts';
import { syncFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

/**
 * `sync` with `conversationId`: a page of that conversation's messages (`messages`). The conversation
 * list (`sync` without `conversationId`, answering `conversations`) is not built yet, and says so.
 */
export const handler = defineRoute('sync', syncFrame, ({ frame, caller }) => {
  if (frame.conversationId === undefined) {
    throw new BadRequestError('conversationId: required (the conversation list is not available yet)');
  }
  return syncMessages({
    caller,
    conversationId: frame.conversationId,
    afterSeq: frame.afterSeq,
    limit: frame.limit,
  });
});

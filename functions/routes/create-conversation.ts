import { createConversation } from '../domain/create-conversation.ts';
import { createConversationFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

/** Creates a group (idempotent by the caller's clientRequestId) and answers its `conversation` frame. */
export const handler = defineRoute(
  'createConversation',
  createConversationFrame,
  ({ frame, caller, connectionId }) =>
    createConversation({
      caller,
      connectionId,
      clientRequestId: frame.clientRequestId,
      members: frame.members,
      title: frame.title,
      now: new Date(),
    }),
);

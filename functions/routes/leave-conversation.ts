import { leaveConversation } from '../domain/leave-conversation.ts';
import { leaveConversationFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('leaveConversation', leaveConversationFrame, ({ frame, caller }) =>
  leaveConversation({ conversationId: frame.conversationId, caller, now: new Date() }),
);

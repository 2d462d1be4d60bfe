import { acceptRequest } from '../domain/accept-request.ts';
import { acceptRequestFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('acceptRequest', acceptRequestFrame, ({ frame, caller }) =>
  acceptRequest({ conversationId: frame.conversationId, caller, now: new Date() }),
);

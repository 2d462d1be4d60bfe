import { markRead } from '../domain/mark-read.ts';
import { markReadFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('markRead', markReadFrame, ({ frame, caller }) =>
  markRead({ conversationId: frame.conversationId, seq: frame.seq, caller, now: new Date() }),
);

import { block } from '../domain/blocks.ts';
import { blockFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('block', blockFrame, ({ frame, caller }) =>
  block({ userId: frame.userId, on: frame.on, caller, now: new Date() }),
);

import { react } from '../domain/message-changes.ts';
import { reactFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('react', reactFrame, ({ frame, caller }) =>
  react({ ...frame, caller, now: new Date() }),
);

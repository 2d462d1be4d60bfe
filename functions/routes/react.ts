import { react } from '../domain/react.ts';
import { reactFrame } from '../shared/frame-schemas.ts';
import { defineRoute } from '../shared/ws-route.ts';

export const handler = defineRoute('react', reactFrame, ({ frame, caller }) => react({ ...frame, caller }));

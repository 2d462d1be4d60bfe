import * as z from 'zod/mini';
import { defineRoute } from '../shared/ws-route.ts';

/** Clients ping to keep a quiet connection inside API Gateway's 10-minute idle timeout. */
export const handler = defineRoute('ping', z.object({ action: z.literal('ping') }), async () => ({
  type: 'pong',
}));

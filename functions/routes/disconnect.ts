import { deleteConnection } from '../adapters/connection-store.ts';
import { logger } from '../shared/logger.ts';
import { withInvocationLogKeys } from '../shared/route-answers.ts';
import { callerOf, type RouteResponse, type WebSocketEvent } from '../shared/websocket-event.ts';

/**
 * `$disconnect` is best effort in API Gateway (it may never run); the 410 clean-up in delivery and the
 * connection item's TTL cover the cases it misses.
 */
export const handler = withInvocationLogKeys(async (event: WebSocketEvent): Promise<RouteResponse> => {
  const caller = callerOf(event);
  await deleteConnection(caller.userId, event.requestContext.connectionId);
  logger.info('disconnected', {
    disconnectStatusCode: (event.requestContext as { disconnectStatusCode?: number }).disconnectStatusCode,
  });
  return { statusCode: 200 };
});

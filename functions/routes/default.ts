import { type BadRequestError, UnknownActionError } from '../domain/errors.ts';
import { logger } from '../shared/logger.ts';
import type { RouteResponse, WebSocketEvent } from '../shared/websocket-event.ts';
import { errorFrame, parseBody, reply, withInvocationLogKeys } from '../shared/ws-route.ts';

/**
 * `$default`: API Gateway sends here every frame whose `action` selects no route, non-JSON included.
 * Not JSON or not an object is bad_request; anything else names no known action.
 */
export const handler = withInvocationLogKeys(async (event: WebSocketEvent): Promise<RouteResponse> => {
  let body: Record<string, unknown> | undefined;
  let error: BadRequestError | UnknownActionError;
  try {
    body = parseBody(event.body);
    error =
      typeof body.action === 'string'
        ? new UnknownActionError(`unknown action "${body.action.slice(0, 64)}"`)
        : new UnknownActionError('frame has no action');
  } catch (parseError) {
    error = parseError as BadRequestError;
  }
  logger.info('request refused', { code: error.code });
  const action = typeof body?.action === 'string' ? body.action.slice(0, 64) : undefined;
  return reply(errorFrame(error, action, body));
});

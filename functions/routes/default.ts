import { type BadRequestError, UnknownActionError } from '../domain/errors.ts';
import { answerError, parseBody, reply, withInvocationLogKeys } from '../shared/route-answers.ts';
import type { RouteResponse, WebSocketEvent } from '../shared/websocket-event.ts';

/**
 * `$default`: API Gateway sends here every frame whose `action` selects no route, non-JSON included.
 * Not JSON or not an object is bad_request; anything else names no known action. Both are refusals
 * (logged at info, counted as RouteErrors{Route=$default}).
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
  const action = typeof body?.action === 'string' ? body.action.slice(0, 64) : undefined;
  return reply(answerError(error, '$default', action, body));
});

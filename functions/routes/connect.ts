import { recordTokenUse, saveConnection } from '../adapters/connection-store.ts';
import { logger } from '../shared/logger.ts';
import { withInvocationLogKeys } from '../shared/route-answers.ts';
import { callerOf, headerOf, type RouteResponse, type WebSocketEvent } from '../shared/websocket-event.ts';

/** The subprotocol browsers offer as `parley, <jwt>` to keep the token out of URLs. */
const SUBPROTOCOL = 'parley';

/**
 * `$connect` runs after the authorizer accepted the caller. It stores the connection so delivery can
 * find it, and answers the `parley` subprotocol when the client offered it: a browser closes a socket
 * whose server picked none of the offered subprotocols.
 */
export const handler = withInvocationLogKeys(async (event: WebSocketEvent): Promise<RouteResponse> => {
  const caller = callerOf(event);
  const { connectionId, connectedAt } = event.requestContext;
  const now = new Date();
  await Promise.all([
    saveConnection(
      {
        connectionId,
        userId: caller.userId,
        deviceId: caller.deviceId,
        connectedAt: new Date(connectedAt || Date.now()).toISOString(),
        ...(caller.jti !== undefined && { jti: caller.jti }),
      },
      now,
    ),
    caller.jti === undefined
      ? undefined
      : recordTokenUse(caller.jti, caller.userId, caller.tokenExpiresAt, now),
  ]);
  logger.info('connected', { deviceId: caller.deviceId });
  const offered = (headerOf(event, 'Sec-WebSocket-Protocol') ?? '').split(',').map((p) => p.trim());
  return offered.includes(SUBPROTOCOL)
    ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': SUBPROTOCOL } }
    : { statusCode: 200 };
});

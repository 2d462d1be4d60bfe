import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { requiredEnv } from '../env.ts';
import { CLIENT_HTTP_OPTIONS } from './http-options.ts';

/**
 * The `@connections` management API of the WebSocket stage, built once per container. The stack
 * passes the stage's callback URL (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`); the
 * local stack passes its own endpoint. Never mutated between invocations.
 */
export const managementApi = new ApiGatewayManagementApiClient({
  ...CLIENT_HTTP_OPTIONS,
  endpoint: requiredEnv('WS_CALLBACK_URL'),
});

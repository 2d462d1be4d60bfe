/**
 * What API Gateway sends a WebSocket `$connect` REQUEST authorizer. `@types/aws-lambda` models the REST
 * variant (with `resource`, `path`, `httpMethod`, which WebSocket events lack), so this keeps its header
 * and query maps and swaps in the WebSocket request context.
 */
import type {
  APIGatewayAuthorizerResult,
  APIGatewayEventWebsocketRequestContextV2,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import type { AuthorizerContext } from '../shared/websocket-event.ts';

export interface WebSocketConnectAuthorizerEvent
  extends Pick<
    APIGatewayRequestAuthorizerEvent,
    | 'type'
    | 'methodArn'
    | 'headers'
    | 'multiValueHeaders'
    | 'queryStringParameters'
    | 'multiValueQueryStringParameters'
    | 'stageVariables'
  > {
  requestContext: Omit<APIGatewayEventWebsocketRequestContextV2, 'messageId'> & {
    identity: { sourceIp: string; userAgent?: string };
  };
}

/** The Allow policy's `context` is what every route reads from `requestContext.authorizer`. */
export interface ConnectAuthorizerResult extends APIGatewayAuthorizerResult {
  context?: AuthorizerContext;
}

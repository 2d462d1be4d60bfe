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

/** Values every route reads from `requestContext.authorizer`; API Gateway allows only flat strings here. */
export interface AuthorizerContext {
  [key: string]: string;
  userId: string;
  name: string;
  /** The `deviceId` query parameter, or '' when the client gave none. */
  deviceId: string;
}

export interface ConnectAuthorizerResult extends APIGatewayAuthorizerResult {
  context?: AuthorizerContext;
}

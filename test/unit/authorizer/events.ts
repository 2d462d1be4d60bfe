/** `$connect` authorizer events built from the API Gateway-shaped fixture, both header maps kept in step. */
import type { WebSocketConnectAuthorizerEvent } from '../../../functions/authorizer/event.ts';
import { loadFixture } from '../../support/fixtures.ts';

export interface ConnectRequest {
  query?: Record<string, string>;
  /** Repeated header lines are given as arrays. */
  headers?: Record<string, string | string[]>;
}

export function connectEvent({
  query = {},
  headers = {},
}: ConnectRequest = {}): WebSocketConnectAuthorizerEvent {
  const event = loadFixture<WebSocketConnectAuthorizerEvent>('authorizer-event');
  for (const [name, value] of Object.entries(query)) {
    event.queryStringParameters = { ...event.queryStringParameters, [name]: value };
    event.multiValueQueryStringParameters = { ...event.multiValueQueryStringParameters, [name]: [value] };
  }
  for (const [name, value] of Object.entries(headers)) {
    const values = Array.isArray(value) ? value : [value];
    // API Gateway's single-value map keeps the last line of a repeated header.
    event.headers = { ...event.headers, [name]: values.at(-1) };
    event.multiValueHeaders = { ...event.multiValueHeaders, [name]: values };
  }
  return event;
}

export const METHOD_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/test/$connect';

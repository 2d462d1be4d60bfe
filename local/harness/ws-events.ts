/**
 * API Gateway WebSocket events for running a route handler in-process (route tests, the request-unit
 * benchmark), made from the real-shaped events in local/harness/events/ with only the fields a caller
 * cares about changed. Each call gets its own copy.
 */
import { readFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import type { WebSocketEvent } from '../../functions/shared/websocket-event.ts';

const EVENTS_DIR = new URL('./events/', import.meta.url);
const parsed = new Map<string, WebSocketEvent>();

function loadEvent(name: 'connect-event' | 'disconnect-event' | 'message-event'): WebSocketEvent {
  let event = parsed.get(name);
  if (event === undefined) {
    event = JSON.parse(readFileSync(new URL(`${name}.json`, EVENTS_DIR), 'utf8')) as WebSocketEvent;
    parsed.set(name, event);
  }
  return structuredClone(event);
}

export interface Who {
  userId?: string;
  name?: string;
  deviceId?: string;
  connectionId?: string;
  /** The token's jti and exp, as the authorizer's context carries them. */
  jti?: string;
  tokenExpiresAt?: number;
}

function identify(event: WebSocketEvent, who: Who): WebSocketEvent {
  const userId = who.userId ?? 'alice';
  event.requestContext.authorizer = {
    principalId: userId,
    userId,
    name: who.name ?? userId,
    deviceId: who.deviceId ?? '',
    jti: who.jti ?? '',
    tokenExpiresAt: who.tokenExpiresAt ?? 0,
  };
  if (who.connectionId !== undefined) event.requestContext.connectionId = who.connectionId;
  return event;
}

/** A MESSAGE event whose body is `frame` (serialised unless already a string). */
export function messageEvent(frame: unknown, who: Who = {}): WebSocketEvent {
  const event = loadEvent('message-event');
  const body = typeof frame === 'string' ? frame : JSON.stringify(frame);
  const action = (frame as { action?: unknown } | null)?.action;
  event.requestContext.routeKey = typeof action === 'string' ? action : '$default';
  event.body = body;
  return identify(event, who);
}

export function connectEvent(who: Who = {}): WebSocketEvent {
  return identify(loadEvent('connect-event'), who);
}

export function disconnectEvent(who: Who = {}): WebSocketEvent {
  return identify(loadEvent('disconnect-event'), who);
}

export const lambdaContext = {
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  functionName: 'parley-test',
} as unknown as Context;

/**
 * The event recorder's local endpoints: the fake EventBridge that the events function's real SDK client
 * talks to (`EVENTBRIDGE_ENDPOINT`), and the recorded events of integration.md, "Events to the backend":
 * `GET /_local/events` (oldest first, each `{ id, source, detailType, detail, time }`) and
 * `DELETE /_local/events`.
 */
import { json, type LocalRoutes, noContent } from '../http/local-routes.ts';
import type { FakeEventBridge } from './fake-eventbridge.ts';

/** The events function gets `EVENTBRIDGE_ENDPOINT = {base}${EVENTBRIDGE_PATH}`. */
export const EVENTBRIDGE_PATH = '/_local/eventbridge';

export function addEventRoutes(routes: LocalRoutes, bus: FakeEventBridge): void {
  const putEvents = (request: {
    headers: Readonly<Record<string, string | string[] | undefined>>;
    body: Buffer;
  }) => {
    const target = request.headers['x-amz-target'];
    const reply = bus.handle(Array.isArray(target) ? target[0] : target, request.body.toString('utf8'));
    return {
      statusCode: reply.statusCode,
      headers: { 'Content-Type': 'application/x-amz-json-1.1' },
      body: reply.body,
    };
  };
  routes
    .add('POST', EVENTBRIDGE_PATH, putEvents)
    .add('GET', '/_local/events', () => json(200, bus.events()))
    .add('DELETE', '/_local/events', () => {
      bus.clear();
      return noContent;
    });
}

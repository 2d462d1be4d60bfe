/**
 * The push recorder's local endpoints: the fake SNS service the handlers' real SNS client talks to,
 * the recorded pushes of protocol.md, and a switch that makes APNs/FCM reject a token.
 */
import { json, type LocalRoutes, noContent } from '../http/local-routes.ts';
import type { FakeSns } from './fake-sns.ts';

/** Handlers get `SNS_ENDPOINT = {base}${SNS_PATH}`. */
export const SNS_PATH = '/_local/sns';

export function addPushRoutes(routes: LocalRoutes, sns: FakeSns): void {
  routes
    .add('POST', SNS_PATH, (request) => {
      const reply = sns.handle(request.body.toString('utf8'));
      return { statusCode: reply.statusCode, headers: { 'Content-Type': 'text/xml' }, body: reply.body };
    })
    .add('GET', '/_local/pushes', () => json(200, sns.pushes()))
    .add('DELETE', '/_local/pushes', () => {
      sns.clearPushes();
      return noContent;
    })
    .add('GET', '/_local/push-endpoints', () => json(200, sns.endpoints()))
    .add('POST', '/_local/push-endpoints/{token}/disable', (request) =>
      sns.rejectToken(request.params.token ?? '') > 0
        ? noContent
        : json(404, { message: 'No endpoint has this token' }),
    );
}

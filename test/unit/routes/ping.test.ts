/** `ping`: the keep-alive inside API Gateway's 10-minute idle timeout. It reads and writes nothing. */
import { afterEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/routes/ping.ts';
import { lambdaContext, messageEvent } from '../../support/ws-events.ts';
import { api, ddb, frameOf } from './route-mocks.ts';

describe('ping', () => {
  afterEach(() => {
    ddb.reset();
    api.reset();
  });

  it('answers pong with status 200', async () => {
    // WHEN
    const response = await handler(messageEvent({ action: 'ping' }), lambdaContext);

    // THEN
    expect(response).toEqual({ statusCode: 200, body: '{"type":"pong"}' });
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(api).not.toHaveReceivedAnyCommand();
  });

  it('ignores fields it does not know (newer clients keep working)', async () => {
    const response = await handler(messageEvent({ action: 'ping', sentAt: 1795429805000 }), lambdaContext);

    expect(response).toEqual({ statusCode: 200, body: '{"type":"pong"}' });
  });

  it.each([
    ['a body that is not JSON', 'ping'],
    ['a JSON array', '[]'],
  ])('answers %s with bad_request for the ping action', async (_case, body) => {
    const response = await handler(messageEvent(body), lambdaContext);

    expect(frameOf(response)).toEqual({
      type: 'error',
      code: 'bad_request',
      message: expect.stringMatching(/^frame is not/),
      action: 'ping',
    });
  });

  it('answers internal (not a throw) when no authorizer context reached the route', async () => {
    const event = messageEvent({ action: 'ping' });
    delete event.requestContext.authorizer;

    const response = await handler(event, lambdaContext);

    expect(frameOf(response)).toMatchObject({ type: 'error', code: 'internal', action: 'ping' });
  });
});

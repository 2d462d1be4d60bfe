/**
 * `ping`: the keep-alive inside API Gateway's 10-minute idle timeout. It reads and writes nothing, but
 * like every frame it checks the connection's token has not expired.
 */

import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/routes/ping.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import { api, CONNECTION_ID, ddb, frameOf, RECEIVED_AT_EPOCH, sentToDynamo, TABLE } from './route-mocks.ts';

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

  it('refuses a frame after the token expired and asks for the connection to be closed', async () => {
    // GIVEN the token expired a second before the frame arrived (requestTimeEpoch of the fixture)
    const expired = Math.floor(RECEIVED_AT_EPOCH / 1000) - 1;
    ddb.on(UpdateCommand).resolves({});

    // WHEN
    const response = await handler(
      messageEvent({ action: 'ping' }, { tokenExpiresAt: expired }),
      lambdaContext,
    );

    // THEN the frame is refused, and the connection item asks delivery to close the socket
    expect(frameOf(response)).toEqual({
      type: 'error',
      code: 'forbidden',
      message: 'your token has expired: reconnect with a fresh one',
      action: 'ping',
    });
    expect(sentToDynamo()).toEqual([
      [
        'UpdateCommand',
        {
          TableName: TABLE,
          Key: { PK: 'USER#alice', SK: `CONN#${CONNECTION_ID}` },
          UpdateExpression: 'SET closeRequested = :reason',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':reason': 'token_expired' },
        },
      ],
    ]);
  });

  it('answers a token valid for another second as usual', async () => {
    const valid = Math.floor(RECEIVED_AT_EPOCH / 1000) + 1;

    const response = await handler(
      messageEvent({ action: 'ping' }, { tokenExpiresAt: valid }),
      lambdaContext,
    );

    expect(response).toEqual({ statusCode: 200, body: '{"type":"pong"}' });
    expect(ddb).not.toHaveReceivedAnyCommand();
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

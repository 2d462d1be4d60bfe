/**
 * `$disconnect`: deletes exactly the closing connection's item, unconditionally, so running twice (or
 * after a 410 clean-up already removed it) is harmless.
 */
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/routes/disconnect.ts';
import { disconnectEvent, lambdaContext } from '../../../local/harness/ws-events.ts';
import { CONNECTION_ID, ddb, sentToDynamo, TABLE } from './route-mocks.ts';

const DELETE_ALICE_CONNECTION = {
  TableName: TABLE,
  Key: { PK: 'USER#alice', SK: `CONN#${CONNECTION_ID}` },
};

describe('$disconnect', () => {
  beforeEach(() => {
    ddb.on(DeleteCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
  });

  it("deletes exactly the closing connection's item, without a condition", async () => {
    // WHEN
    const response = await handler(disconnectEvent({ deviceId: 'iphone-7f3a' }), lambdaContext);

    // THEN
    expect(response).toEqual({ statusCode: 200 });
    expect(sentToDynamo()).toEqual([['DeleteCommand', DELETE_ALICE_CONNECTION]]);
  });

  it('deletes the connection of the user the authorizer named', async () => {
    const response = await handler(
      disconnectEvent({ userId: 'bob', connectionId: 'CfQ4zzZ9DoECMmA=' }),
      lambdaContext,
    );

    expect(response).toEqual({ statusCode: 200 });
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(DeleteCommand, {
      TableName: TABLE,
      Key: { PK: 'USER#bob', SK: 'CONN#CfQ4zzZ9DoECMmA=' },
    });
  });

  it('is idempotent: a second disconnect of the same connection sends the same delete and succeeds', async () => {
    // GIVEN DynamoDB answers a delete of a missing item like any other (no ReturnValues)
    const event = disconnectEvent();

    // WHEN
    const first = await handler(event, lambdaContext);
    const second = await handler(disconnectEvent(), lambdaContext);

    // THEN
    expect(first).toEqual({ statusCode: 200 });
    expect(second).toEqual({ statusCode: 200 });
    expect(sentToDynamo()).toEqual([
      ['DeleteCommand', DELETE_ALICE_CONNECTION],
      ['DeleteCommand', DELETE_ALICE_CONNECTION],
    ]);
  });

  it('throws when no authorizer context reached the route', async () => {
    const event = disconnectEvent();
    delete event.requestContext.authorizer;

    await expect(handler(event, lambdaContext)).rejects.toThrow('No authorizer context');
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('lets a DynamoDB failure propagate (the TTL removes the item later)', async () => {
    const failure = new Error('socket hang up');
    ddb.on(DeleteCommand).rejects(failure);

    await expect(handler(disconnectEvent(), lambdaContext)).rejects.toBe(failure);
  });
});

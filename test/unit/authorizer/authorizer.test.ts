/**
 * The `$connect` authorizer in its default HS256 mode (JWT_SECRET from unit-setup.ts): every way a token
 * is accepted or refused, and the exact DynamoDB read behind each decision.
 */
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { base64url } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_TOKEN_CHARS } from '../../../functions/authorizer/authorize.ts';
import { handler } from '../../../functions/authorizer/authorizer.ts';
import { CLOCK_TOLERANCE_SECONDS } from '../../../functions/authorizer/verifier.ts';
import { connectEvent, METHOD_ARN } from './events.ts';
import { claims, nowSeconds, signHs256, unsignedToken } from './tokens.ts';

const TABLE = 'parley-test';
const PROJECTION = 'PK, SK, deactivated, sessionsRevokedAt';
const ALICE_STATE = { PK: 'USER#alice', SK: 'STATE' };
const ALICE_JTI = { PK: 'JTI#jti-0001', SK: 'JTI' };

const dynamo = mockClient(DynamoDBDocumentClient);

function storedItems(items: Record<string, unknown>[]) {
  dynamo.on(BatchGetCommand).resolves({ Responses: { [TABLE]: items } });
}

async function expectUnauthorized(result: Promise<unknown>) {
  await expect(result).rejects.toThrowError(/^Unauthorized$/);
}

/** The Allow policy; its context also names the token (`jti`, '' without one; `exp` as tokenExpiresAt). */
const allowFor = (
  userId: string,
  name: string,
  deviceId: string,
  token: { jti: string; tokenExpiresAt: unknown } = { jti: 'jti-0001', tokenExpiresAt: expect.any(Number) },
) => ({
  principalId: userId,
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }],
  },
  context: { userId, name, deviceId, ...token },
});

beforeEach(() => {
  storedItems([]);
});

afterEach(() => {
  dynamo.reset();
});

describe('accepted tokens', () => {
  it('allows a valid query token and passes who is calling, and on which token, in the context', async () => {
    // Prepare
    const exp = nowSeconds() + 600;
    const token = await signHs256(claims({ exp }));

    // Act
    const result = await handler(connectEvent({ query: { token, deviceId: 'iphone-15.A1:b2' } }));

    // Assess
    expect(result).toEqual(
      allowFor('alice', 'Alice Example', 'iphone-15.A1:b2', { jti: 'jti-0001', tokenExpiresAt: exp }),
    );
  });

  it('reads user state and the revoked-token item in one consistent BatchGetItem', async () => {
    const token = await signHs256(claims());

    await handler(connectEvent({ query: { token } }));

    expect(dynamo).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        [TABLE]: { Keys: [ALICE_STATE, ALICE_JTI], ConsistentRead: true, ProjectionExpression: PROJECTION },
      },
    });
  });

  it('reads only the user state item when the token has no jti', async () => {
    const token = await signHs256(claims({ jti: undefined }));

    await expect(handler(connectEvent({ query: { token } }))).resolves.toEqual(
      allowFor('alice', 'Alice Example', '', { jti: '', tokenExpiresAt: expect.any(Number) }),
    );

    expect(dynamo).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: {
        [TABLE]: { Keys: [ALICE_STATE], ConsistentRead: true, ProjectionExpression: PROJECTION },
      },
    });
  });

  it('accepts an Authorization: Bearer header, whatever the case of its name and scheme', async () => {
    const token = await signHs256(claims());

    const result = await handler(connectEvent({ headers: { authorization: `bearer ${token}` } }));

    expect(result).toEqual(allowFor('alice', 'Alice Example', ''));
  });

  it('accepts the subprotocol list "parley, <jwt>"', async () => {
    const token = await signHs256(claims());

    const result = await handler(connectEvent({ headers: { 'Sec-WebSocket-Protocol': `parley, ${token}` } }));

    expect(result).toEqual(allowFor('alice', 'Alice Example', ''));
  });

  it('accepts a subprotocol list spread over repeated header lines', async () => {
    const token = await signHs256(claims());

    const result = await handler(connectEvent({ headers: { 'sec-websocket-protocol': ['parley', token] } }));

    expect(result).toEqual(allowFor('alice', 'Alice Example', ''));
  });

  it('accepts a token that expired less than the clock tolerance ago', async () => {
    const token = await signHs256(claims({ exp: nowSeconds() - CLOCK_TOLERANCE_SECONDS + 20 }));

    await expect(handler(connectEvent({ query: { token } }))).resolves.toMatchObject({
      principalId: 'alice',
    });
  });

  it.each([
    ['a trimmed name claim', '  Alice  ', 'Alice'],
    ['the user id when there is no name claim', undefined, 'alice'],
    ['the user id when the name claim is blank', '   ', 'alice'],
    ['the user id when the name claim is not a string', 42, 'alice'],
    [
      'a name cut to 100 characters without splitting an emoji',
      `${'n'.repeat(99)}😀tail`,
      `${'n'.repeat(99)}😀`,
    ],
  ])('names the caller with %s', async (_case, name, expected) => {
    const token = await signHs256(claims({ name }));

    const result = await handler(connectEvent({ query: { token } }));

    expect(result.context?.name).toBe(expected);
  });

  it('accepts a token issued at or after the sessions-revoked time', async () => {
    const revokedAt = nowSeconds() - 60;
    storedItems([{ ...ALICE_STATE, sessionsRevokedAt: revokedAt }]);
    const token = await signHs256(claims({ iat: revokedAt }));

    await expect(handler(connectEvent({ query: { token } }))).resolves.toMatchObject({
      principalId: 'alice',
    });
  });
});

describe('token source precedence', () => {
  it('uses the query token over a header and a subprotocol token', async () => {
    const token = await signHs256(claims());
    const event = connectEvent({
      query: { token },
      headers: { Authorization: 'Bearer not-a-jwt', 'Sec-WebSocket-Protocol': 'parley, not-a-jwt' },
    });

    await expect(handler(event)).resolves.toMatchObject({ principalId: 'alice' });
  });

  it('uses the Authorization header over a subprotocol token', async () => {
    const token = await signHs256(claims());
    const event = connectEvent({
      headers: { Authorization: `Bearer ${token}`, 'Sec-WebSocket-Protocol': 'parley, not-a-jwt' },
    });

    await expect(handler(event)).resolves.toMatchObject({ principalId: 'alice' });
  });

  it('does not fall back to another source when the winning one is invalid', async () => {
    const token = await signHs256(claims());
    const event = connectEvent({
      query: { token: 'not-a-jwt' },
      headers: { Authorization: `Bearer ${token}` },
    });

    await expectUnauthorized(handler(event));
  });
});

describe('refused with 401', () => {
  it('refuses a request without any token, without reading DynamoDB', async () => {
    await expectUnauthorized(handler(connectEvent()));

    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('refuses a subprotocol list without a token after "parley"', async () => {
    await expectUnauthorized(handler(connectEvent({ headers: { 'Sec-WebSocket-Protocol': 'parley' } })));
  });

  it('refuses an Authorization header of another scheme', async () => {
    const token = await signHs256(claims());

    await expectUnauthorized(handler(connectEvent({ headers: { Authorization: `Basic ${token}` } })));
  });

  it.each([
    ['not a JWT', 'not-a-jwt'],
    ['three empty parts', '..'],
    ['garbage in every part', 'a.b.c'],
    ['a JSON header that is not an object', `${btoa('"x"')}.${btoa('{}')}.sig`],
  ])('refuses a malformed token: %s', async (_case, token) => {
    await expectUnauthorized(handler(connectEvent({ query: { token } })));

    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('refuses a token over the size limit before verifying it', async () => {
    const token = `${await signHs256(claims())}${'A'.repeat(MAX_TOKEN_CHARS)}`;

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it('refuses a token signed with another secret', async () => {
    const token = await signHs256(claims(), 'another-secret-that-is-long-enough-for-hs256');

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const [header, , signature] = (await signHs256(claims())).split('.');
    const forged = base64url.encode(JSON.stringify(claims({ sub: 'mallory' })));

    await expectUnauthorized(handler(connectEvent({ query: { token: `${header}.${forged}.${signature}` } })));
  });

  it('refuses an unsigned token (alg: none)', async () => {
    await expectUnauthorized(handler(connectEvent({ query: { token: unsignedToken(claims()) } })));
  });

  it('refuses a token expired beyond the clock tolerance', async () => {
    const token = await signHs256(claims({ exp: nowSeconds() - CLOCK_TOLERANCE_SECONDS - 90 }));

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it('refuses a token that is not valid yet', async () => {
    const token = await signHs256(claims({ nbf: nowSeconds() + 300 }));

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it('refuses a token without exp', async () => {
    const token = await signHs256(claims({ exp: undefined }));

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['not a string', 12345],
    ['with a space', 'alice smith'],
    ['with a #, which would break DynamoDB keys', 'alice#STATE'],
    ['65 characters long', 'a'.repeat(65)],
  ])('refuses a token whose sub is %s', async (_case, sub) => {
    const token = await signHs256(claims({ sub }));

    await expectUnauthorized(handler(connectEvent({ query: { token } })));

    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['empty', ''],
    ['with an @ (allowed in user ids, not in device ids)', 'alice@phone'],
    ['with a space', 'my phone'],
    ['65 characters long', 'd'.repeat(65)],
  ])('refuses a deviceId that is %s', async (_case, deviceId) => {
    const token = await signHs256(claims());

    await expectUnauthorized(handler(connectEvent({ query: { token, deviceId } })));
  });

  it.each([
    ['not a string', 7],
    ['empty', ''],
    ['longer than 256 characters', 'j'.repeat(257)],
  ])('refuses a jti that is %s', async (_case, jti) => {
    const token = await signHs256(claims({ jti }));

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it('refuses a revoked jti', async () => {
    storedItems([{ ...ALICE_JTI }]);
    const token = await signHs256(claims());

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it('refuses a token issued before the user revoked all sessions', async () => {
    const revokedAt = nowSeconds() - 60;
    storedItems([{ ...ALICE_STATE, sessionsRevokedAt: revokedAt }]);
    const token = await signHs256(claims({ iat: revokedAt - 1 }));

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it('refuses a token without iat once the user has revoked sessions', async () => {
    storedItems([{ ...ALICE_STATE, sessionsRevokedAt: nowSeconds() - 60 }]);
    const token = await signHs256(claims({ iat: undefined }));

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it('refuses a revoked token of a deactivated user with 401, telling it nothing about the account', async () => {
    storedItems([{ ...ALICE_STATE, deactivated: true }, { ...ALICE_JTI }]);
    const token = await signHs256(claims());

    await expectUnauthorized(handler(connectEvent({ query: { token } })));
  });

  it('finds a revoked jti that DynamoDB first left unprocessed, asking again for that key only', async () => {
    dynamo
      .on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: [ALICE_JTI] } } })
      .resolves({ Responses: { [TABLE]: [{ ...ALICE_JTI }] } });
    const token = await signHs256(claims());

    await expectUnauthorized(handler(connectEvent({ query: { token } })));

    expect(dynamo).toHaveReceivedCommandTimes(BatchGetCommand, 2);
    expect(dynamo).toHaveReceivedNthCommandWith(BatchGetCommand, 2, {
      RequestItems: {
        [TABLE]: { Keys: [ALICE_JTI], ConsistentRead: true, ProjectionExpression: PROJECTION },
      },
    });
  });
});

describe('refused with 403', () => {
  it('answers a Deny policy without context for a deactivated user', async () => {
    storedItems([{ ...ALICE_STATE, deactivated: true }]);
    const token = await signHs256(claims());

    const result = await handler(connectEvent({ query: { token } }));

    expect(result).toEqual({
      principalId: 'alice',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: METHOD_ARN }],
      },
    });
  });
});

describe('infrastructure failures (500, not 401)', () => {
  it('rethrows a DynamoDB error as it is', async () => {
    const outage = Object.assign(new Error('Service unavailable'), { name: 'InternalServerError' });
    dynamo.on(BatchGetCommand).rejects(outage);
    const token = await signHs256(claims());

    await expect(handler(connectEvent({ query: { token } }))).rejects.toBe(outage);
  });

  it('fails when DynamoDB keeps leaving keys unprocessed', async () => {
    dynamo
      .on(BatchGetCommand)
      .resolves({ Responses: { [TABLE]: [] }, UnprocessedKeys: { [TABLE]: { Keys: [ALICE_STATE] } } });
    const token = await signHs256(claims({ jti: undefined }));

    await expect(handler(connectEvent({ query: { token } }))).rejects.toThrowError(/unprocessed/);
    expect(dynamo).toHaveReceivedCommandTimes(BatchGetCommand, 4);
  });
});

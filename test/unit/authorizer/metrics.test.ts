/**
 * What the authorizer counts: one ConnectionsRefused{Reason} per refused connection, under the reason
 * the log line names too, AuthorizerFailures when it could not decide, and nothing for an accepted
 * connection. (The authorizer's Lambda `Errors` count every 401 as an error; these metrics do not.)
 */
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { REFUSAL_REASONS } from '../../../definitions/metrics.ts';
import { MAX_TOKEN_CHARS } from '../../../functions/authorizer/authorize.ts';
import { handler } from '../../../functions/authorizer/authorizer.ts';
import { CLOCK_TOLERANCE_SECONDS } from '../../../functions/authorizer/verifier.ts';
import { connectEvent } from './events.ts';
import { claims, nowSeconds, signHs256, signHs256Raw, unsignedToken } from './tokens.ts';

const TABLE = 'parley-test';
const ALICE_STATE = { PK: 'USER#alice', SK: 'STATE' };
const ALICE_JTI = { PK: 'JTI#jti-0001', SK: 'JTI' };

const dynamo = mockClient(DynamoDBDocumentClient);
let stdout: MockInstance<typeof process.stdout.write>;

function storedItems(items: Record<string, unknown>[]) {
  dynamo.on(BatchGetCommand).resolves({ Responses: { [TABLE]: items } });
}

/** The EMF lines written, without the `_aws` envelope. */
function counted(): Record<string, unknown>[] {
  return stdout.mock.calls
    .map(([chunk]) => JSON.parse(String(chunk)) as Record<string, unknown>)
    .filter((line) => '_aws' in line)
    .map(({ _aws, ...members }) => members);
}

beforeEach(() => {
  // GIVEN metrics written as in Lambda, and no user state stored
  vi.stubEnv('PARLEY_METRICS', 'on');
  stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
  storedItems([]);
});

afterEach(() => {
  stdout.mockRestore();
  dynamo.reset();
  vi.unstubAllEnvs();
});

describe('ConnectionsRefused', () => {
  const cases: [string, () => Promise<Parameters<typeof handler>[0]>, string][] = [
    ['no token at all', async () => connectEvent(), 'missing_token'],
    ['a token that is not a JWT', async () => connectEvent({ query: { token: 'not-a-jwt' } }), 'malformed'],
    [
      'a token over the size limit',
      async () => connectEvent({ query: { token: 'A'.repeat(MAX_TOKEN_CHARS + 1) } }),
      'malformed',
    ],
    [
      'a payload that is not a claim set',
      async () => connectEvent({ query: { token: await signHs256Raw('[1,2]') } }),
      'malformed',
    ],
    [
      'a token signed with another secret',
      async () =>
        connectEvent({
          query: { token: await signHs256(claims(), 'another-secret-that-is-long-enough-for-hs256') },
        }),
      'bad_signature',
    ],
    [
      'an unsigned token (alg: none)',
      async () => connectEvent({ query: { token: unsignedToken(claims()) } }),
      'bad_signature',
    ],
    [
      'an expired token',
      async () =>
        connectEvent({
          query: { token: await signHs256(claims({ exp: nowSeconds() - CLOCK_TOLERANCE_SECONDS - 90 })) },
        }),
      'expired',
    ],
    [
      'a token that is not valid yet',
      async () => connectEvent({ query: { token: await signHs256(claims({ nbf: nowSeconds() + 300 })) } }),
      'invalid_claims',
    ],
    [
      'a token without exp',
      async () => connectEvent({ query: { token: await signHs256(claims({ exp: undefined })) } }),
      'invalid_claims',
    ],
    [
      'a sub that is not a user id',
      async () => connectEvent({ query: { token: await signHs256(claims({ sub: 'alice#STATE' })) } }),
      'invalid_claims',
    ],
    [
      'an empty jti',
      async () => connectEvent({ query: { token: await signHs256(claims({ jti: '' })) } }),
      'invalid_claims',
    ],
    [
      'a deviceId with characters device ids never have',
      async () => connectEvent({ query: { token: await signHs256(claims()), deviceId: 'my phone' } }),
      'bad_device_id',
    ],
  ];

  it.each(cases)('counts %s under its reason', async (_case, event, reason) => {
    // WHEN
    await expect(handler(await event())).rejects.toThrowError(/^Unauthorized$/);

    // THEN
    expect(counted()).toEqual([{ Reason: reason, ConnectionsRefused: 1 }]);
  });

  it('counts a revoked jti as revoked', async () => {
    storedItems([{ ...ALICE_JTI }]);
    const token = await signHs256(claims());

    await expect(handler(connectEvent({ query: { token } }))).rejects.toThrowError(/^Unauthorized$/);

    expect(counted()).toEqual([{ Reason: 'revoked', ConnectionsRefused: 1 }]);
  });

  it('counts a token issued before "revoke all sessions" as revoked', async () => {
    const revokedAt = nowSeconds() - 60;
    storedItems([{ ...ALICE_STATE, sessionsRevokedAt: revokedAt }]);
    const token = await signHs256(claims({ iat: revokedAt - 1 }));

    await expect(handler(connectEvent({ query: { token } }))).rejects.toThrowError(/^Unauthorized$/);

    expect(counted()).toEqual([{ Reason: 'revoked', ConnectionsRefused: 1 }]);
  });

  it('counts a deactivated user (the 403) as deactivated', async () => {
    storedItems([{ ...ALICE_STATE, deactivated: true }]);
    const token = await signHs256(claims());

    const result = await handler(connectEvent({ query: { token } }));

    expect(result.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    expect(counted()).toEqual([{ Reason: 'deactivated', ConnectionsRefused: 1 }]);
  });

  it('uses only reasons definitions/metrics.ts declares, so the dashboard graphs every one', () => {
    for (const [, , reason] of cases) expect(REFUSAL_REASONS).toContain(reason);
  });
});

describe('AuthorizerFailures', () => {
  it('counts a DynamoDB failure as a failure to decide, not as a refusal', async () => {
    dynamo
      .on(BatchGetCommand)
      .rejects(Object.assign(new Error('Service unavailable'), { name: 'InternalServerError' }));
    const token = await signHs256(claims());

    await expect(handler(connectEvent({ query: { token } }))).rejects.toThrowError('Service unavailable');

    expect(counted()).toEqual([{ AuthorizerFailures: 1 }]);
  });
});

describe('accepted connections', () => {
  it('count nothing', async () => {
    const token = await signHs256(claims());

    await expect(handler(connectEvent({ query: { token } }))).resolves.toMatchObject({
      principalId: 'alice',
    });

    expect(counted()).toEqual([]);
  });
});

/** HS256 mode checks `iss` and `aud` only when JWT_ISSUER / JWT_AUDIENCE are set (protocol.md "Connecting"). */
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { handler as Handler } from '../../../functions/authorizer/authorizer.ts';
import { connectEvent } from './events.ts';
import { claims, signHs256 } from './tokens.ts';

const dynamo = mockClient(DynamoDBDocumentClient);
let handler: typeof Handler;

beforeAll(async () => {
  vi.resetModules();
  vi.stubEnv('JWT_ISSUER', 'parley-auth');
  vi.stubEnv('JWT_AUDIENCE', 'parley-app');
  handler = (await import('../../../functions/authorizer/authorizer.ts')).handler;
  vi.unstubAllEnvs();
});

beforeEach(() => {
  dynamo.on(BatchGetCommand).resolves({ Responses: { 'parley-test': [] } });
});

afterEach(() => {
  dynamo.reset();
});

describe('HS256 with JWT_ISSUER and JWT_AUDIENCE set', () => {
  it('allows a token from that issuer for that audience', async () => {
    const token = await signHs256(claims({ iss: 'parley-auth', aud: ['other', 'parley-app'] }));

    await expect(handler(connectEvent({ query: { token } }))).resolves.toMatchObject({
      principalId: 'alice',
    });
  });

  it.each([
    ['another issuer', { iss: 'someone-else', aud: 'parley-app' }],
    ['no issuer', { aud: 'parley-app' }],
    ['another audience', { iss: 'parley-auth', aud: 'other-app' }],
    ['no audience', { iss: 'parley-auth' }],
  ])('refuses a token with %s', async (_case, overrides) => {
    const token = await signHs256(claims(overrides));

    await expect(handler(connectEvent({ query: { token } }))).rejects.toThrowError(/^Unauthorized$/);
  });
});

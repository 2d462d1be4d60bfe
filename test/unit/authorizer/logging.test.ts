/**
 * What the authorizer logs: the refusal reason and, once the token proved it, the user id, with the
 * connection and request ids. Never the token.
 */
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import type { handler as Handler } from '../../../functions/authorizer/authorizer.ts';
import { connectEvent } from './events.ts';
import { claims, signHs256 } from './tokens.ts';

const dynamo = mockClient(DynamoDBDocumentClient);
let handler: typeof Handler;
let stdout: MockInstance<typeof process.stdout.write>;

function logLines(): Record<string, unknown>[] {
  return stdout.mock.calls.map(([chunk]) => JSON.parse(String(chunk)) as Record<string, unknown>);
}

beforeAll(async () => {
  vi.resetModules();
  vi.stubEnv('LOG_LEVEL', 'info');
  handler = (await import('../../../functions/authorizer/authorizer.ts')).handler;
  vi.unstubAllEnvs();
});

beforeEach(() => {
  stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
  dynamo.on(BatchGetCommand).resolves({ Responses: { 'parley-test': [] } });
});

afterEach(() => {
  stdout.mockRestore();
  dynamo.reset();
});

describe('authorizer logs', () => {
  it('logs an accepted connection with its ids and token source, not the token', async () => {
    const token = await signHs256(claims());

    await handler(connectEvent({ headers: { Authorization: `Bearer ${token}` } }));

    expect(logLines()).toEqual([
      expect.objectContaining({
        level: 'info',
        message: 'connection authorized',
        connectionId: 'CfQ3bfF3DoECJqQ=',
        requestId: 'CfQ3bGZ8DoEFqJw=',
        userId: 'alice',
        tokenSource: 'header',
      }),
    ]);
    expect(JSON.stringify(logLines())).not.toContain(token);
  });

  it('logs why a token was refused, with jose’s code, not the token', async () => {
    const token = await signHs256(claims(), 'some-other-secret-of-sufficient-length');

    await expect(handler(connectEvent({ query: { token } }))).rejects.toThrowError(/^Unauthorized$/);

    expect(logLines()).toEqual([
      expect.objectContaining({
        message: 'connection refused',
        status: 401,
        reason: 'bad_signature',
        detail: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        tokenSource: 'query',
        connectionId: 'CfQ3bfF3DoECJqQ=',
      }),
    ]);
    expect(JSON.stringify(logLines())).not.toContain(token.split('.')[1]);
  });

  it('logs the user id with a revocation', async () => {
    dynamo
      .on(BatchGetCommand)
      .resolves({ Responses: { 'parley-test': [{ PK: 'JTI#jti-0001', SK: 'JTI' }] } });
    const token = await signHs256(claims());

    await expect(handler(connectEvent({ query: { token } }))).rejects.toThrowError(/^Unauthorized$/);

    expect(logLines()).toEqual([
      expect.objectContaining({ status: 401, reason: 'revoked', detail: 'token_revoked', userId: 'alice' }),
    ]);
  });

  it('logs a deactivated user as a 403', async () => {
    dynamo
      .on(BatchGetCommand)
      .resolves({ Responses: { 'parley-test': [{ PK: 'USER#alice', SK: 'STATE', deactivated: true }] } });
    const token = await signHs256(claims());

    await handler(connectEvent({ query: { token } }));

    expect(logLines()).toEqual([
      expect.objectContaining({ status: 403, reason: 'deactivated', userId: 'alice' }),
    ]);
  });
});

/**
 * The HS256 secret from Secrets Manager through the Parameters and Secrets Lambda Extension: one
 * localhost call per container, retried after a failure, and an unreachable secret is a 500.
 */
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { handler as Handler } from '../../../functions/authorizer/authorizer.ts';
import { createSecretProvider } from '../../../functions/authorizer/secret.ts';
import { connectEvent } from './events.ts';
import { claims, signHs256 } from './tokens.ts';

const STORED_SECRET = 'secret-from-secrets-manager-long-enough';
const SECRET_ID = 'parley/prod/jwt secret';

const dynamo = mockClient(DynamoDBDocumentClient);
const fetchMock = vi.fn<typeof fetch>();

const secretResponse = () => Response.json({ Name: SECRET_ID, SecretString: STORED_SECRET, VersionId: 'v1' });

beforeEach(() => {
  vi.stubEnv('AWS_SESSION_TOKEN', 'session-token-of-this-sandbox');
  vi.stubGlobal('fetch', fetchMock);
  dynamo.on(BatchGetCommand).resolves({ Responses: { 'parley-test': [] } });
});

afterEach(() => {
  fetchMock.mockReset();
  dynamo.reset();
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
});

describe('createSecretProvider', () => {
  it('asks the extension on localhost with the session token and encodes the SecretString', async () => {
    fetchMock.mockResolvedValue(secretResponse());

    const key = await createSecretProvider({ kind: 'secretsManager', secretId: SECRET_ID })();

    expect(new TextDecoder().decode(key)).toBe(STORED_SECRET);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe('http://localhost:2773/secretsmanager/get?secretId=parley%2Fprod%2Fjwt%20secret');
    expect(init?.headers).toEqual({ 'X-Aws-Parameters-Secrets-Token': 'session-token-of-this-sandbox' });
  });

  it('uses the port the extension was configured with', async () => {
    vi.stubEnv('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', '2999');
    fetchMock.mockResolvedValue(secretResponse());

    await createSecretProvider({ kind: 'secretsManager', secretId: 'id' })();

    expect(fetchMock.mock.calls[0]?.[0]).toBe('http://localhost:2999/secretsmanager/get?secretId=id');
  });

  it('fetches once for any number of concurrent and later requests', async () => {
    fetchMock.mockResolvedValue(secretResponse());
    const secret = createSecretProvider({ kind: 'secretsManager', secretId: SECRET_ID });

    await Promise.all([secret(), secret(), secret()]);
    await secret();

    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['an HTTP error', () => new Response('not ready', { status: 400 }), /HTTP 400/],
    ['no SecretString (a binary secret)', () => Response.json({ SecretBinary: 'AAEC' }), /no SecretString/],
  ])('fails on %s and asks again on the next request', async (_case, failure, message) => {
    fetchMock.mockResolvedValueOnce(failure()).mockResolvedValueOnce(secretResponse());
    const secret = createSecretProvider({ kind: 'secretsManager', secretId: SECRET_ID });

    await expect(secret()).rejects.toThrowError(message);
    await expect(secret()).resolves.toEqual(new TextEncoder().encode(STORED_SECRET));

    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('fails at cold start without the session token the extension requires', () => {
    vi.stubEnv('AWS_SESSION_TOKEN', '');

    expect(() => createSecretProvider({ kind: 'secretsManager', secretId: SECRET_ID })).toThrowError(
      /AWS_SESSION_TOKEN/,
    );
  });

  it('never calls the extension for a secret given in the environment', async () => {
    const key = await createSecretProvider({ kind: 'value', secret: 'parley-local-secret' })();

    expect(new TextDecoder().decode(key)).toBe('parley-local-secret');
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe('the authorizer with JWT_SECRET_ID', () => {
  async function loadHandler(): Promise<typeof Handler> {
    vi.resetModules();
    vi.stubEnv('JWT_SECRET', '');
    vi.stubEnv('JWT_SECRET_ID', SECRET_ID);
    return (await import('../../../functions/authorizer/authorizer.ts')).handler;
  }

  it('verifies tokens with the stored secret', async () => {
    fetchMock.mockResolvedValue(secretResponse());
    const handler = await loadHandler();
    const token = await signHs256(claims(), STORED_SECRET);

    await expect(handler(connectEvent({ query: { token } }))).resolves.toMatchObject({
      principalId: 'alice',
    });
  });

  it('refuses tokens signed with any other secret', async () => {
    fetchMock.mockResolvedValue(secretResponse());
    const handler = await loadHandler();
    const token = await signHs256(claims(), 'unit-test-secret-that-is-long-enough-for-hs256');

    await expect(handler(connectEvent({ query: { token } }))).rejects.toThrowError(/^Unauthorized$/);
  });

  it('fails (a 500, not a 401) while the secret cannot be read', async () => {
    fetchMock.mockRejectedValue(new TypeError('fetch failed'));
    const handler = await loadHandler();
    const token = await signHs256(claims(), STORED_SECRET);

    await expect(handler(connectEvent({ query: { token } }))).rejects.toThrowError(/fetch failed/);
  });
});

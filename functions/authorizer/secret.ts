/**
 * The HS256 shared secret. Local and dev runs pass it in `JWT_SECRET`; deployed functions name a Secrets
 * Manager secret in `JWT_SECRET_ID` and read it through the AWS Parameters and Secrets Lambda Extension
 * (a localhost HTTP call with the global fetch), which keeps a Secrets Manager SDK client out of the
 * bundle. Fetched once per container; a failed fetch is forgotten so the next request tries again.
 */
import { optionalEnv, requiredEnv } from '../shared/env.ts';
import type { SecretSource } from './config.ts';

export type SecretProvider = () => Promise<Uint8Array>;

const DEFAULT_EXTENSION_PORT = '2773';
const EXTENSION_TIMEOUT_MS = 2_000;

export function createSecretProvider(source: SecretSource): SecretProvider {
  if (source.kind === 'value') {
    const key = new TextEncoder().encode(source.secret);
    return () => Promise.resolve(key);
  }
  // Read now so that a function without them fails at cold start, not at its first connection.
  const sessionToken = requiredEnv('AWS_SESSION_TOKEN');
  const port = optionalEnv('PARAMETERS_SECRETS_EXTENSION_HTTP_PORT') ?? DEFAULT_EXTENSION_PORT;
  const url = `http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(source.secretId)}`;
  let pending: Promise<Uint8Array> | undefined;
  return () => {
    pending ??= fetchSecret(url, sessionToken, source.secretId).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

async function fetchSecret(url: string, sessionToken: string, secretId: string): Promise<Uint8Array> {
  const response = await fetch(url, {
    headers: { 'X-Aws-Parameters-Secrets-Token': sessionToken },
    signal: AbortSignal.timeout(EXTENSION_TIMEOUT_MS),
  });
  if (!response.ok) {
    throw new Error(`Secrets extension answered HTTP ${response.status} for secret ${secretId}`);
  }
  const body = (await response.json()) as { SecretString?: unknown } | null;
  if (typeof body?.SecretString !== 'string' || body.SecretString === '') {
    throw new Error(`Secret ${secretId} has no SecretString`);
  }
  return new TextEncoder().encode(body.SecretString);
}

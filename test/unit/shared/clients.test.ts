/**
 * Every AWS client is built with connection and request timeouts shorter than the Lambdas' (10 s for
 * routes, 60 s for delivery), so a hanging call fails and is retried or reported instead of eating
 * the invocation.
 */
import { describe, expect, it } from 'vitest';
import { dynamo } from '../../../functions/shared/clients/dynamodb.ts';
import { eventBridge } from '../../../functions/shared/clients/eventbridge.ts';
import { managementApi } from '../../../functions/shared/clients/management-api.ts';
import { sns } from '../../../functions/shared/clients/sns.ts';

const ROUTE_LAMBDA_TIMEOUT_MS = 10_000;

const clients = { dynamo, managementApi, sns, eventBridge };

describe.each(Object.entries(clients))('the %s client', (_name, client) => {
  it('gives up on a connection after 3 s and on a request after 2 s, and really throws', async () => {
    const handler = client.config.requestHandler as unknown as {
      configProvider: Promise<Record<string, unknown>>;
    };
    expect(await handler.configProvider).toMatchObject({
      connectionTimeout: 3_000,
      requestTimeout: 2_000,
      throwOnRequestTimeout: true,
    });
  });

  it('fails inside a route Lambda when every attempt times out, connecting or waiting', async () => {
    const attempts = await client.config.maxAttempts();
    expect(attempts * Math.max(3_000, 2_000)).toBeLessThan(ROUTE_LAMBDA_TIMEOUT_MS);
  });
});

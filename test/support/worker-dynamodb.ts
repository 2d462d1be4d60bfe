/**
 * The DynamoDB Local of this test worker (test/support/dynamodb-global-setup.ts started one per
 * worker): `VITEST_POOL_ID` numbers the workers from 1.
 */
export function workerDynamoDbEndpoint(): string {
  const endpoints = (process.env.PARLEY_TEST_DYNAMODB_ENDPOINTS ?? '').split(',').filter(Boolean);
  if (endpoints.length === 0) throw new Error('no DynamoDB Local: dynamodb-global-setup.ts did not run');
  const worker = Number(process.env.VITEST_POOL_ID ?? 1);
  return endpoints[(worker - 1) % endpoints.length] as string;
}

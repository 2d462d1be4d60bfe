/**
 * Integration and end-to-end suites: one DynamoDB Local per test worker, always stopped at the end.
 * DynamoDB Local serves its requests on about one core, so one emulator for all workers made it the
 * bottleneck (and its slow answers tripped the handlers' 2 s request timeout); one per worker keeps
 * each file's load what it was when files ran one at a time. Each worker picks its own by
 * `VITEST_POOL_ID` (test/support/worker-dynamodb.ts), and each file or stack makes its own table.
 */
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '../../local/dynamodb-local.ts';
import { TEST_WORKERS } from './test-workers.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const emulators = await Promise.all(
    Array.from({ length: TEST_WORKERS }, () => startDynamoDbLocal({ sharedDb: true })),
  );
  // Workers inherit this environment.
  process.env.PARLEY_TEST_DYNAMODB_ENDPOINTS = emulators.map((db) => db.endpoint).join(',');
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  return async () => {
    await Promise.all(emulators.map((db) => db.stop()));
  };
}

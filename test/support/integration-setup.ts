/**
 * Runs before each integration test file: a table of its own (so files never see each other's
 * items), created from the shared definition, and the configuration handler modules read at import.
 */
import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll } from 'vitest';
import { RATE_LIMIT_SETTINGS, RATE_LIMITED_ACTIONS } from '../../definitions/rate-limits.ts';
import { createTable } from '../../local/create-table.ts';
import { workerDynamoDbEndpoint } from './worker-dynamodb.ts';

const tableName = `parley-it-${randomUUID().slice(0, 8)}`;
process.env.TABLE_NAME = tableName;
process.env.DYNAMODB_ENDPOINT = workerDynamoDbEndpoint();
process.env.ATTACHMENTS_BUCKET = 'parley-attachments-test';
process.env.WS_CALLBACK_URL ??= 'https://abc123.execute-api.eu-west-1.amazonaws.com/test';
process.env.DELIVERY_FAILURE_TOPIC_ARN ??= 'arn:aws:sns:us-east-1:123456789012:parley-delivery-failures';
process.env.PUSH_APP_ARN_APNS = 'arn:aws:sns:us-east-1:123456789012:app/APNS/parley';
process.env.PUSH_APP_ARN_APNS_SANDBOX = 'arn:aws:sns:us-east-1:123456789012:app/APNS_SANDBOX/parley';
process.env.PUSH_APP_ARN_FCM = 'arn:aws:sns:us-east-1:123456789012:app/GCM/parley';
process.env.JWT_SECRET = 'integration-test-secret-long-enough-for-hs256';
process.env.LOG_LEVEL ??= 'error';
// These files test idempotency and ordering under hundreds of concurrent sends from one user: the
// per-user rate limit is tested on its own (rate-limit.test.ts, with its limits passed in).
// (A rate of 100 keeps the interval at 10 ms, so that the clock rarely crosses a bucket's `tat` while
// 50 requests of one user race for it.)
process.env.SEND_RATE_PER_SECOND = '100';
process.env.SEND_BURST = '1000';
// The same for the other writes' limits (100 a second after 1000 at once), and a daily upload quota no
// test reaches: rate-limit.test.ts and upload-quota.test.ts set their own. Typing keeps its default.
for (const [action, { rate, per, burst }] of Object.entries(RATE_LIMITED_ACTIONS)) {
  if (action === 'sendMessage' || action === 'typing') continue;
  process.env[RATE_LIMIT_SETTINGS[rate].env] = per === 'minute' ? '6000' : '100';
  process.env[RATE_LIMIT_SETTINGS[burst].env] = '1000';
}
process.env[RATE_LIMIT_SETTINGS.uploadMiBPerDay.env] = String(1024 * 1024);

const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT });
await createTable(client, tableName);

// Dropped at the end of the file, so that the emulator a worker keeps for the whole run holds only
// the tables of the files running now.
afterAll(async () => {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
  client.destroy();
});

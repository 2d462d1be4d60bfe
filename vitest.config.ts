import { defineConfig } from 'vitest/config';
import { TEST_WORKERS } from './test/support/test-workers.ts';

/**
 * Four suites, and the chaos suite run on its own. Unit tests mock every AWS client; integration
 * tests share one DynamoDB Local started by a global setup (each file makes its own table); end-to-end tests start the whole local stack;
 * CDK tests synthesize the stack offline. quiet-logs.ts keeps the handlers' expected error logs out of
 * the report (PARLEY_TEST_LOGS=1 shows them).
 */
export default defineConfig({
  test: {
    // Set, not left to the default: with one worker per core minus one (1 on 2 cores) vitest ran every
    // file of the unit, integration and CDK suites one after another. Each worker gets a DynamoDB Local
    // of its own (test/support/dynamodb-global-setup.ts).
    maxWorkers: TEST_WORKERS,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/support/quiet-logs.ts', 'test/support/unit-setup.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/dynamodb-global-setup.ts'],
          setupFiles: ['test/support/quiet-logs.ts', 'test/support/integration-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // A DynamoDB Local per worker; each local stack uses a table of its own in it.
          globalSetup: ['test/support/dynamodb-global-setup.ts'],
          setupFiles: ['test/support/quiet-logs.ts', 'test/support/e2e-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 90_000,
        },
      },
      {
        test: {
          // `npm run test:chaos` only: `npm test` runs every project but this one (its short version,
          // test/e2e/chaos-short.test.ts, is part of e2e).
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          setupFiles: ['test/support/quiet-logs.ts'],
          testTimeout: 900_000,
          hookTimeout: 90_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'cdk',
          include: ['test/cdk/**/*.test.ts'],
          // aws-cdk-lib takes seconds to load: loaded once per worker rather than once per file. Safe
          // here because every test builds its own App and nothing is mocked.
          isolate: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});

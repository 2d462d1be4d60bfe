import { defineConfig } from 'vitest/config';

/**
 * Four suites, and the chaos suite run on its own. Unit tests mock every AWS client; integration
 * tests share one DynamoDB Local started by a global setup (each file makes its own table); end-to-end tests start the whole local stack;
 * CDK tests synthesize the stack offline. quiet-logs.ts keeps the handlers' expected error logs out of
 * the report (PARLEY_TEST_LOGS=1 shows them).
 */
export default defineConfig({
  test: {
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
          setupFiles: ['test/support/quiet-logs.ts'],
          testTimeout: 120_000,
          hookTimeout: 90_000,
          // Each file starts a whole local stack (with its own JVM); two at once is plenty on 2 cores.
          maxWorkers: 2,
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
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});

/**
 * Test files run at once (vitest's `maxWorkers`), and so the DynamoDB Local emulators the integration
 * and end-to-end suites start: one per worker. Two on 2 cores.
 */
export const TEST_WORKERS = 2;

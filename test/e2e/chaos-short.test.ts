/**
 * The chaos suite's short version, inside `npm test` (the whole suite: `npm run test:chaos`): 10 pairs
 * exchange 200 messages through the local stack with every fault class on at once (10 % each), then
 * the on-failure queue is redriven, and every promise of "no loss, no duplicates" holds
 * (test/chaos/chaos-run.ts checks them).
 */
import { expect, it } from 'vitest';
import { runChaos } from '../chaos/chaos-run.ts';
import { ALL_AT_ONCE, redriveLocal } from '../chaos/faults.ts';
import { printChaosReports } from '../chaos/report.ts';

it('loses nothing and stores nothing twice while every fault class is injected', async () => {
  const report = await runChaos({ ...ALL_AT_ONCE, pairs: 10, messages: 200, redrive: redriveLocal });
  printChaosReports([report]);
  expect(report.violations).toEqual([]);
  expect(report.acked).toBe(210);
  expect(report.stored).toBe(210);
});

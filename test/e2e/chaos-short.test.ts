/**
 * The chaos suite's short version, inside `npm test` (the whole suite: `npm run test:chaos`): 10 pairs
 * exchange 200 messages through the local stack with every fault class on at once (10 % each), edit,
 * delete and react to some of them under the faults, then the on-failure queue is redriven, and every
 * promise of "no loss, no duplicates" holds, and both members' clients show every change as the table
 * holds it (test/chaos/chaos-run.ts checks them). Its own timeout: on a busy 2-core machine it takes
 * about 90 s.
 */
import { expect, it } from 'vitest';
import { runChaos } from '../chaos/chaos-run.ts';
import { ALL_AT_ONCE, redriveLocal } from '../chaos/faults.ts';
import { printChaosReports } from '../chaos/report.ts';

it('loses nothing and stores nothing twice while every fault class is injected', {
  timeout: 600_000,
}, async () => {
  const report = await runChaos({ ...ALL_AT_ONCE, pairs: 10, messages: 200, redrive: redriveLocal });
  printChaosReports([report]);
  expect(report.violations).toEqual([]);
  expect(report.acked).toBe(210);
  expect(report.stored).toBe(210);
});

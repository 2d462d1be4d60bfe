/**
 * `npm run test:chaos`: 50 pairs of users exchange 2,000 messages through the local stack while each
 * fault class runs at 10–20 %, one class at a time and then all together; after each run the on-failure
 * queue is redriven and every promise of "no loss, no duplicates" is checked (chaos-run.ts). Prints the
 * figures of every run. `CHAOS_MESSAGES` and `CHAOS_PAIRS` change the size.
 */
import { afterAll, expect, it } from 'vitest';
import { type ChaosReport, runChaos } from './chaos-run.ts';
import { ALL_AT_ONCE, redriveLocal, SINGLE_CLASS_PLANS } from './faults.ts';
import { printChaosReports } from './report.ts';

const messages = Number(process.env.CHAOS_MESSAGES ?? 2000);
const pairs = Number(process.env.CHAOS_PAIRS ?? 50);
const reports: ChaosReport[] = [];

afterAll(() => printChaosReports(reports));

for (const plan of [...SINGLE_CLASS_PLANS, ALL_AT_ONCE]) {
  it(`keeps every promise with ${plan.label}`, async () => {
    const report = await runChaos({ ...plan, pairs, messages, redrive: redriveLocal });
    reports.push(report);
    expect(report.violations).toEqual([]);
    expect(report.stored).toBe(messages + pairs);
  });
}

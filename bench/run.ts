/**
 * `npm run bench [-- units|bundles|cold-start|latency]`: the budgets of architecture.md, measured on
 * this machine. Without an argument every part runs, then a summary; the exit code is 1 when a budget
 * is missed, so the benchmark can gate a change.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommandLine, UsageError, wholeNumber } from '../local/cli.ts';
import { assertJava, JavaMissingError } from '../local/dynamodb-local.ts';
import { BASELINE_NAME, buildBundles, kilobytes, printBundles } from './bundles.ts';
import { type ColdStart, measureColdStarts, printColdStarts } from './cold-start.ts';
import { dollars, dynamoDbCost, PRICES, PRICES_AS_OF, printCost, totalCost } from './cost.ts';
import { LATENCY_DEFAULTS, measureLatency, printLatency } from './latency.ts';
import { LOAD_DEFAULTS, type LoadOptions, measureLoad, printLoad } from './load.ts';
import { BUDGET, measureRequestUnits } from './request-units.ts';
import { heading } from './text-table.ts';

const PARTS = ['units', 'bundles', 'cold-start', 'latency'] as const;
/** Parts that run only when asked for: they measure capacity, not a budget. */
const ON_REQUEST = ['load'] as const;
type Part = (typeof PARTS)[number] | (typeof ON_REQUEST)[number];
const KNOWN: readonly string[] = [...PARTS, ...ON_REQUEST];

const { parts, load: loadOptions } = runCommandLine(
  {
    name: 'bench',
    command: 'npm run bench --',
    usage: `[${KNOWN.join('|')}]`,
    details: `Measures the budgets of architecture.md on this machine (Node.js 22.18+, Java 17+ for DynamoDB Local)
and exits 1 when one is missed. Without a part, every part runs, then a summary.

  units       DynamoDB request units per message, and the AWS cost of a million
  bundles     Lambda bundle sizes
  cold-start  module initialisation of each bundle
  latency     end-to-end latency with 200 clients on the local stack
  load        ${LOAD_DEFAULTS.users} connections held, each user sending steadily for ${LOAD_DEFAULTS.durationMs / 1000} s (only when asked for)
              --users N (even), --rate MESSAGES_PER_S (all users together), --duration SECONDS
`,
    options: { users: { type: 'string' }, rate: { type: 'string' }, duration: { type: 'string' } },
    positionals: { min: 0, max: 1 },
  },
  (values, [requested]) => {
    if (requested !== undefined && !KNOWN.includes(requested)) {
      throw new UsageError(`unknown part "${requested}" (one of ${KNOWN.join(', ')})`);
    }
    const load: LoadOptions = {
      users: wholeNumber('--users', values.users, LOAD_DEFAULTS.users, { min: 2 }),
      offeredRate: wholeNumber('--rate', values.rate, LOAD_DEFAULTS.offeredRate, { min: 1 }),
      durationMs:
        wholeNumber('--duration', values.duration, LOAD_DEFAULTS.durationMs / 1000, { min: 1 }) * 1000,
    };
    if (load.users % 2 !== 0) throw new UsageError('--users must be even: users send in pairs');
    const parts: readonly Part[] = requested === undefined ? PARTS : [requested as Part];
    return { parts, load };
  },
);
// DynamoDB Local (units, and latency through the local stack) needs Java: say so in one line up front.
if (parts.includes('units') || parts.includes('latency') || parts.includes('load')) {
  try {
    assertJava();
  } catch (error) {
    if (!(error instanceof JavaMissingError)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(1);
  }
}
const summary: string[] = [];
let allWithinBudget = true;
const verdict = (ok: boolean) => {
  allWithinBudget &&= ok;
  return ok ? 'PASS' : 'FAIL';
};
const started = performance.now();
process.stdout.write(
  `Parley benchmark, ${new Date().toISOString()}, node ${process.version}, ${parts.join(', ')}\n`,
);

if (parts.includes('units')) {
  const units = await measureRequestUnits();
  const lines = printCost(units.writeUnits, units.readUnits);
  summary.push(
    `DynamoDB per new 1:1 message  ${units.writeUnits} WRU (budget ${BUDGET.writeUnits}), ${units.readUnits} RRU ` +
      `(budget ${BUDGET.readUnits}), AWS billing rules  ${verdict(units.withinBudget)}`,
    `Cost per million 1:1 messages DynamoDB ${dollars(dynamoDbCost(lines))} ($${PRICES.dynamoWritePerMillion}/M WRU, ` +
      `$${PRICES.dynamoReadPerMillion}/M RRU); with Lambda and WebSocket messages ${dollars(totalCost(lines))}` +
      `\n                              (${PRICES_AS_OF})`,
  );
}

if (parts.includes('bundles') || parts.includes('cold-start')) {
  const outRoot = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  try {
    const bundles = await buildBundles(outRoot);
    const handlers = bundles.filter((bundle) => bundle.name !== BASELINE_NAME);
    const largest = handlers.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    const baseline = bundles.find((bundle) => bundle.name === BASELINE_NAME);
    if (parts.includes('bundles')) {
      const ok = printBundles(bundles);
      summary.push(
        `Bundles                       largest ${largest.name} ${kilobytes(largest.bytes)} KB (budget 400 KB), ` +
          `baseline ${kilobytes(baseline?.bytes ?? 0)} KB  ${verdict(ok)}`,
      );
    }
    if (parts.includes('cold-start')) {
      const coldStarts = await measureColdStarts(bundles);
      printColdStarts(coldStarts);
      summary.push(coldStartSummary(coldStarts));
    }
  } finally {
    await rm(outRoot, { recursive: true, force: true });
  }
}

if (parts.includes('latency')) {
  const latency = await measureLatency();
  const ok = printLatency(latency);
  const l = latency.latency;
  summary.push(
    `Latency, 200 clients          p50 ${l?.p50.toFixed(1)} ms, p95 ${l?.p95.toFixed(1)} ms, p99 ${l?.p99.toFixed(1)} ms ` +
      `at ${LATENCY_DEFAULTS.offeredRate} messages/s; lost ${latency.lost}, duplicated ${latency.duplicated}  ${verdict(ok)}`,
  );
}

if (parts.includes('load')) {
  const load = await measureLoad(loadOptions);
  printLoad(load, loadOptions);
  const l = load.latency;
  summary.push(
    `Load, ${loadOptions.users} connections        held ${load.connectionsHeld}; ${load.sent} sent, ${load.delivered} delivered, lost ${load.lost}, ` +
      `duplicated ${load.duplicated}; p50 ${l?.p50.toFixed(1)} ms, p95 ${l?.p95.toFixed(1)} ms, p99 ${l?.p99.toFixed(1)} ms; ` +
      `${load.throughputPerS.toFixed(1)} messages/s (reported, not a budget)`,
  );
}

function coldStartSummary(coldStarts: readonly ColdStart[]): string {
  const handlers = coldStarts.filter((start) => start.bundle.name !== BASELINE_NAME);
  const baseline = coldStarts.find((start) => start.bundle.name === BASELINE_NAME);
  const medians = handlers.map((start) => start.medianMs);
  return (
    `Cold start (median import)    handlers ${Math.min(...medians).toFixed(1)}–${Math.max(...medians).toFixed(1)} ms, ` +
    `baseline ${baseline?.medianMs.toFixed(1)} ms (this machine)`
  );
}

process.stdout.write(
  `${heading('Summary')}${summary.join('\n')}\n\n` +
    `${allWithinBudget ? 'Every budget met' : 'A BUDGET WAS MISSED'} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
);
process.exitCode = allWithinBudget ? 0 : 1;

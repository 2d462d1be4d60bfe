/**
 * `npm run bench [-- PART] [--check]`: the budgets of architecture.md and the figures a team choosing
 * Parley asks for, measured on this machine. Without a part every part runs, then a summary. Every run
 * writes bench-results.json at the repository root (bench/results.ts), part by part. The plain run
 * never fails on a figure; with `--check` it exits 1 when a budget was missed, so it can gate a change.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommandLine, UsageError, wholeNumber } from '../local/cli.ts';
import { assertJava, JavaMissingError } from '../local/dynamodb-local.ts';
import { BASELINE_NAME, BUNDLE_BUDGET_BYTES, buildBundles, kilobytes, printBundles } from './bundles.ts';
import { type ColdStart, measureColdStarts, printColdStarts } from './cold-start.ts';
import { PRICE_SOURCES, PRICES_AS_OF, printCosts, workloads } from './cost.ts';
import type { FlatCostResult } from './flat-cost.ts';
import { LATENCY_DEFAULTS, measureLatency, printLatency } from './latency.ts';
import { LOAD_DEFAULTS, type LoadOptions, measureLoad, printLoad } from './load.ts';
import { KNEE_P95_MS, measureOpenLoop, printOpenLoop } from './open-loop.ts';
import { BUDGET, measureRequestUnits } from './request-units.ts';
import type { BenchResults, OperationFigures } from './results.ts';
import { measureScanBaseline, PARLEY_FIGURES, printScanBaseline } from './scan-baseline.ts';
import { heading } from './text-table.ts';

const PARTS = ['units', 'bundles', 'cold-start', 'latency', 'open-loop', 'scale', 'baseline'] as const;
/** Parts that run only when asked for: they measure capacity, not a budget. */
const ON_REQUEST = ['load'] as const;
type Part = (typeof PARTS)[number] | (typeof ON_REQUEST)[number];
const KNOWN: readonly string[] = [...PARTS, ...ON_REQUEST];
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_FILE = join(ROOT, 'bench-results.json');

const {
  parts,
  check,
  load: loadOptions,
} = runCommandLine(
  {
    name: 'bench',
    command: 'npm run bench --',
    usage: `[${KNOWN.join('|')}] [--check]`,
    details: `Measures Parley on this machine (Node.js 22.18+, Java 17+ for DynamoDB Local) and writes every figure
to bench-results.json. Without a part, every part but load runs, then a summary (about 15 minutes).

  units       DynamoDB request units, PostToConnection and SNS calls of every operation; AWS cost
  bundles     Lambda bundle sizes
  cold-start  module initialisation of each bundle
  latency     end-to-end latency with 200 clients taking turns on the local stack
  open-loop   200 clients each sending on its own schedule, at several offered rates
  scale       the 1:1 message with 10, 10,000 and 100,000 other users in the table
  baseline    AWS's WebSocket chat sample design (scan and post to all) beside Parley
  load        ${LOAD_DEFAULTS.users} connections held, each user sending steadily for ${LOAD_DEFAULTS.durationMs / 1000} s (only when asked for)
              --users N (even), --rate MESSAGES_PER_S (all users together), --duration SECONDS

  --check     exit 1 when a budget of architecture.md is missed (without it, only errors fail the run)
`,
    options: {
      users: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      check: { type: 'boolean' },
    },
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
    return { parts, check: values.check === true, load };
  },
);
// Every part but bundles and cold-start runs DynamoDB Local: say so in one line up front.
if (parts.some((part) => part !== 'bundles' && part !== 'cold-start')) {
  try {
    assertJava();
  } catch (error) {
    if (!(error instanceof JavaMissingError)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(1);
  }
}

const results: BenchResults = {
  startedAt: new Date().toISOString(),
  node: process.version,
  parts,
  budgets: {},
};
const summary: string[] = [];
/** Records a budget of architecture.md and answers the verdict printed beside it. */
const budget = (name: string, measured: number, limit: number): string => {
  const met = measured <= limit;
  if (results.budgets !== undefined) results.budgets[name] = { measured, limit, met };
  return met ? 'PASS' : 'MISSED';
};
/** (1.2) architecture.md's catch-up budgets: a page of 50, and a reconnect in 1,000 with 5 changed. */
function catchUpSummary(operations: Record<string, OperationFigures>): string {
  const page = operations.conversationListPage50;
  const reconnect = operations.reconnect1000Changed5 as
    | (OperationFigures & { clientRequests?: number; listRequests?: number })
    | undefined;
  if (page === undefined || reconnect === undefined) throw new Error('units measured no catch-up');
  const requests = reconnect.clientRequests ?? Number.POSITIVE_INFINITY;
  return (
    `Catch-up                      list page of 50 ${page.rru} RRU (budget 12) ` +
    `${budget('conversationListPage50Rru', page.rru, 12)}; reconnect in 1,000 with 5 changed ` +
    `${reconnect.rru} RRU (budget 60) ${budget('reconnect1000Changed5Rru', reconnect.rru, 60)}, ` +
    `${requests} requests (budget 6) ${budget('reconnect1000Changed5Requests', requests, 6)}`
  );
}

/** Written after every part, so a run cut short still leaves what it measured. */
const save = () => writeFile(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
const started = performance.now();
process.stdout.write(
  `Parley benchmark, ${results.startedAt}, node ${process.version}, ${parts.join(', ')}\n`,
);

let parley: { wru: number; rru: number } = { ...PARLEY_FIGURES };
if (parts.includes('units')) {
  const units = await measureRequestUnits();
  results.dynamodb = units.operations;
  const priced = workloads(units.operations);
  const connect = units.operations.connectWithPresence;
  const disconnect = units.operations.disconnectWithPresence;
  if (connect === undefined || disconnect === undefined)
    throw new Error('units measured no connect/disconnect');
  const costs = printCosts(priced, connect, disconnect);
  results.costPerMillionUsd = costs.perMillion;
  results.costPerConnectedUserMonthUsd = costs.perConnectedUserMonth;
  results.prices = PRICE_SOURCES;
  parley = { wru: units.writeUnits, rru: units.readUnits };
  const usd = (amount: number) => `$${amount.toFixed(2)}`;
  summary.push(
    `DynamoDB per new 1:1 message  ${units.writeUnits} WRU (budget ${BUDGET.writeUnits}) ` +
      `${budget('directMessageOnlineWru', units.writeUnits, BUDGET.writeUnits)}, ${units.readUnits} RRU ` +
      `(budget ${BUDGET.readUnits}) ${budget('directMessageOnlineRru', units.readUnits, BUDGET.readUnits)}; AWS billing rules`,
    catchUpSummary(units.operations),
    `Cost per million              1:1 online ${usd(costs.perMillion.directMessageOnline)}, offline (push) ` +
      `${usd(costs.perMillion.directMessageOffline)}, group of 20 ${usd(costs.perMillion.groupMessage20)}; ` +
      `a connected user $${costs.perConnectedUserMonth.toFixed(3)}/month\n                              (${PRICES_AS_OF})`,
  );
  await save();
}

if (parts.includes('bundles') || parts.includes('cold-start')) {
  const outRoot = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  try {
    const bundles = await buildBundles(outRoot);
    const handlers = bundles.filter((bundle) => bundle.name !== BASELINE_NAME);
    const largest = handlers.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    const baseline = bundles.find((bundle) => bundle.name === BASELINE_NAME);
    const figures: NonNullable<BenchResults['bundles']> = {};
    for (const bundle of bundles) figures[bundle.name] = { bytes: bundle.bytes };
    results.bundles = figures;
    if (parts.includes('bundles')) {
      printBundles(bundles);
      summary.push(
        `Bundles                       largest ${largest.name} ${kilobytes(largest.bytes)} KB (budget 400 KB) ` +
          `${budget('largestBundleBytes', largest.bytes, BUNDLE_BUDGET_BYTES)}, baseline ${kilobytes(baseline?.bytes ?? 0)} KB`,
      );
    }
    if (parts.includes('cold-start')) {
      const coldStarts = await measureColdStarts(bundles);
      printColdStarts(coldStarts);
      for (const start of coldStarts) {
        figures[start.bundle.name] = { bytes: start.bundle.bytes, initMs: start.medianMs };
      }
      summary.push(coldStartSummary(coldStarts));
    }
  } finally {
    await rm(outRoot, { recursive: true, force: true });
  }
  await save();
}

if (parts.includes('latency')) {
  const latency = await measureLatency();
  printLatency(latency);
  const l = latency.latency;
  results.latency = {
    clients: latency.clients,
    messages: latency.expected,
    lost: latency.lost,
    duplicated: latency.duplicated,
    p50Ms: l?.p50 ?? Number.NaN,
    p95Ms: l?.p95 ?? Number.NaN,
    p99Ms: l?.p99 ?? Number.NaN,
    throughputPerS: latency.messagesPerSecond,
  };
  summary.push(
    `Latency, 200 clients          p50 ${l?.p50.toFixed(1)} ms, p95 ${l?.p95.toFixed(1)} ms, p99 ${l?.p99.toFixed(1)} ms ` +
      `at ${LATENCY_DEFAULTS.offeredRate} messages/s; lost ${latency.lost} ${budget('latencyLost', latency.lost, 0)}, ` +
      `duplicated ${latency.duplicated} ${budget('latencyDuplicated', latency.duplicated, 0)}`,
  );
  await save();
}

if (parts.includes('open-loop')) {
  const openLoop = await measureOpenLoop();
  printOpenLoop(openLoop);
  results.openLoop = {
    runs: openLoop.runs.map((run) => ({
      offeredPerS: run.offeredPerS,
      clients: openLoop.users,
      messages: run.sent,
      lost: run.lost,
      duplicated: run.duplicated,
      p50Ms: run.latency?.p50 ?? Number.NaN,
      p95Ms: run.latency?.p95 ?? Number.NaN,
      p99Ms: run.latency?.p99 ?? Number.NaN,
      throughputPerS: run.throughputPerS,
    })),
    kneePerS: openLoop.kneePerS,
  };
  const sustained = openLoop.runs.filter(
    (run) => run.latency !== undefined && run.latency.p95 <= KNEE_P95_MS,
  );
  summary.push(
    `Open load, 200 clients        p95 ≤ ${KNEE_P95_MS} ms up to ${sustained.at(-1)?.offeredPerS ?? 'none of the rates'} messages/s, ` +
      `crossed at ${openLoop.kneePerS ?? 'none'} (reported, not a budget)`,
  );
  await save();
}

if (parts.includes('scale')) {
  const scale = await measureScaleInChild();
  results.scale = scale;
  const [smallest] = scale.scales;
  summary.push(
    `Flat cost at scale            ${smallest?.wru} WRU, ${smallest?.rru} RRU at ${scale.scales.map((s) => s.otherUsers.toLocaleString('en-US')).join(', ')} ` +
      `other users: ${scale.unitsFlat ? 'identical' : 'NOT identical'} ${budget('unitsVaryWithTableSize', scale.unitsFlat ? 0 : 1, 0)}`,
  );
  await save();
}

if (parts.includes('baseline')) {
  const baseline = await measureScanBaseline({ parley });
  printScanBaseline(baseline);
  results.scanBaseline = baseline;
  const largest = baseline.users.at(-1);
  summary.push(
    `Beside AWS's chat sample      at ${largest?.connectedUsers.toLocaleString('en-US')} connected users the sample reads ` +
      `${largest?.rruPerMessage} RRU and posts ${largest?.postToConnection.toLocaleString('en-US')} times per message ` +
      `(${largest?.rruRatioToParley.toFixed(1)}× Parley's reads)`,
  );
  await save();
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

/**
 * The handler modules read their table and endpoint when first imported, so the flat-cost scenario
 * (its own DynamoDB Local, seeded to 100,000 users) runs in a process of its own; its tables go
 * straight to this output.
 */
async function measureScaleInChild(): Promise<FlatCostResult> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-scale-'));
  const out = join(dir, 'flat-cost.json');
  try {
    const child = spawn(process.execPath, [join(ROOT, 'bench/flat-cost.ts'), '--out', out], {
      stdio: 'inherit',
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`bench/flat-cost.ts exited with ${code}`);
    return JSON.parse(await readFile(out, 'utf8')) as FlatCostResult;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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

await save();
const missed = Object.entries(results.budgets ?? {}).filter(([, entry]) => !entry.met);
process.stdout.write(
  `${heading('Summary')}${summary.join('\n')}\n\n` +
    `${missed.length === 0 ? 'Every budget met' : `BUDGETS MISSED: ${missed.map(([name]) => name).join(', ')}`}` +
    ` (${((performance.now() - started) / 1000).toFixed(0)} s); figures in ${RESULTS_FILE}\n`,
);
process.exitCode = check && missed.length > 0 ? 1 : 0;

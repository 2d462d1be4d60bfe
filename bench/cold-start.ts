/**
 * Module initialisation of each bundle, measured the way a Lambda cold start pays it: a fresh `node`
 * process (with `--enable-source-maps`, as the stack's NODE_OPTIONS sets) times `await import(bundle)`,
 * which reads, compiles and evaluates the file and builds the module-scope AWS clients. Runs are
 * interleaved across bundles so that a noisy moment of the machine does not land on one bundle only.
 */
import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { BASELINE_NAME, type Bundle } from './bundles.ts';
import { median } from './stats.ts';
import { heading, textTable } from './text-table.ts';

const run = promisify(execFile);

export const COLD_START_RUNS = 11;

/** Evaluated in the child: the time of the dynamic import alone, process start-up excluded. */
const TIME_IMPORT =
  'const started = performance.now(); await import(process.env.BENCH_BUNDLE_URL);' +
  ' process.stdout.write(String(performance.now() - started));';

/** What Lambda's environment holds for the handlers; they read it at import time. */
const LAMBDA_ENV = {
  TABLE_NAME: 'parley',
  ATTACHMENTS_BUCKET: 'parley-attachments',
  WS_CALLBACK_URL: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod',
  AWS_REGION: 'us-east-1',
  JWT_SECRET: 'cold-start-benchmark-secret-long-enough-for-hs256',
  PUSH_APP_ARN_FCM: 'arn:aws:sns:us-east-1:123456789012:app/GCM/parley',
  DELIVERY_FAILURE_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:parley-delivery-failures',
  LOG_LEVEL: 'warn',
};

export interface ColdStart {
  readonly bundle: Bundle;
  readonly medianMs: number;
  readonly minMs: number;
}

async function timeImport(bundle: Bundle): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ['--enable-source-maps', '--input-type=module', '--eval', TIME_IMPORT],
    {
      env: { PATH: process.env.PATH ?? '', ...LAMBDA_ENV, BENCH_BUNDLE_URL: pathToFileURL(bundle.file).href },
      timeout: 30_000,
    },
  );
  const ms = Number(stdout);
  if (!Number.isFinite(ms)) throw new Error(`${bundle.name}: no timing from the child (${stdout})`);
  return ms;
}

export async function measureColdStarts(
  bundles: readonly Bundle[],
  runs = COLD_START_RUNS,
): Promise<ColdStart[]> {
  const times = new Map<Bundle, number[]>(bundles.map((bundle) => [bundle, []]));
  for (let i = 0; i < runs; i++) {
    for (const bundle of bundles) times.get(bundle)?.push(await timeImport(bundle));
  }
  return bundles.map((bundle) => {
    const ms = times.get(bundle) ?? [];
    return { bundle, medianMs: median(ms), minMs: Math.min(...ms) };
  });
}

export function printColdStarts(coldStarts: readonly ColdStart[]): void {
  const baseline = coldStarts.find((start) => start.bundle.name === BASELINE_NAME);
  const table = textTable(
    ['bundle', 'median ms', 'min ms', 'median vs baseline'],
    coldStarts.map((start) => [
      start.bundle.name,
      start.medianMs.toFixed(1),
      start.minMs.toFixed(1),
      baseline === undefined || start === baseline
        ? ''
        : `${start.medianMs - baseline.medianMs >= 0 ? '+' : ''}${(start.medianMs - baseline.medianMs).toFixed(1)} ms`,
    ]),
    ['left', 'right', 'right', 'right'],
  );
  process.stdout.write(
    `${heading('Cold start: module initialisation')}` +
      `await import(bundle) in a fresh node ${process.version} process, ${COLD_START_RUNS} runs each (interleaved); ` +
      'this machine’s CPU,\nnot Lambda’s (256 MB gets a fraction of a vCPU): compare with the baseline rather than ' +
      'reading the absolute figures as Lambda’s.\n\n' +
      `${table}\n`,
  );
}

/**
 * Builds every Lambda bundle with the stack's own settings (lib/bundling.ts) into a temporary folder,
 * plus the baseline that only builds a DynamoDB client, and prints their sizes against the 400 KB
 * budget (1 KB = 1000 bytes here, the stricter reading; KiB are printed too).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUNDLE_FILE_NAME, esbuildOptions, HANDLER_ENTRIES } from '../lib/bundling.ts';
import { heading, textTable } from './text-table.ts';

export const BUNDLE_BUDGET_BYTES = 400_000;
export const BASELINE_NAME = 'baseline (DynamoDB client only)';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface Bundle {
  readonly name: string;
  readonly entry: string;
  /** Absolute path of the built `index.mjs`. */
  readonly file: string;
  readonly bytes: number;
}

export async function buildBundles(outRoot: string): Promise<Bundle[]> {
  const entries = [...HANDLER_ENTRIES, { name: BASELINE_NAME, entry: join('bench', 'baseline-handler.ts') }];
  const bundles: Bundle[] = [];
  for (const [i, { name, entry }] of entries.entries()) {
    const outdir = join(outRoot, String(i));
    await build(esbuildOptions(entry, ROOT, outdir));
    const file = join(outdir, BUNDLE_FILE_NAME);
    bundles.push({ name, entry, file, bytes: (await stat(file)).size });
  }
  return bundles;
}

export const kilobytes = (bytes: number): string => (bytes / 1000).toFixed(1);
const kibibytes = (bytes: number): string => (bytes / 1024).toFixed(1);

/** Prints the sizes; true when every handler is within the budget. */
export function printBundles(bundles: readonly Bundle[]): boolean {
  const verdict = (bundle: Bundle) =>
    bundle.name === BASELINE_NAME ? '' : bundle.bytes <= BUNDLE_BUDGET_BYTES ? 'PASS' : 'OVER 400 KB';
  const table = textTable(
    ['bundle', 'entry', 'bytes', 'KB', 'KiB', 'budget'],
    bundles.map((bundle) => [
      bundle.name,
      bundle.entry,
      String(bundle.bytes),
      kilobytes(bundle.bytes),
      kibibytes(bundle.bytes),
      verdict(bundle),
    ]),
    ['left', 'left', 'right', 'right', 'right', 'left'],
  );
  process.stdout.write(
    `${heading('Lambda bundle sizes')}esbuild with lib/bundling.ts: ESM, node24, minified, tree-shaken, ` +
      'mainFields module,main, AWS SDK bundled; size of index.mjs (the source map beside it is not counted).\n\n' +
      `${table}\n`,
  );
  return bundles.every((bundle) => verdict(bundle) !== 'OVER 400 KB');
}

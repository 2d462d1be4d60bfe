/**
 * `npm run build:server`: the `@parley/server` package in server/dist. tsc compiles server/src with
 * server/tsconfig.json into one ES module per source file and its declarations (the package keeps its
 * dependencies, AWS's signer and credential chain, as dependencies: nothing is bundled).
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const SERVER = import.meta.dirname;
const ROOT = join(SERVER, '..');
export const SERVER_DIST = join(SERVER, 'dist');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Empties `outDir`, then writes the `.js` and `.d.ts` files of server/src into it; answers their names. */
export async function buildServer(outDir: string = SERVER_DIST): Promise<string[]> {
  await rm(outDir, { recursive: true, force: true });
  await promisify(execFile)(
    process.execPath,
    [TSC, '-p', join(SERVER, 'tsconfig.json'), '--outDir', outDir],
    {
      cwd: ROOT,
    },
  ).catch((error: { stdout?: string; message: string }) => {
    // tsc reports type errors on stdout; without them the failure would say only "exit code 2".
    throw new Error(`tsc failed for server/tsconfig.json:\n${error.stdout || error.message}`);
  });
  await rewriteDeclarationSpecifiers(outDir);
  return (await readdir(outDir, { recursive: true })).sort();
}

/** `from './x.ts'` and `import('./x.ts')` with a relative path; the quote is group 2. */
const RELATIVE_TS_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.\.?\/[^'"]*?)\.ts\2/g;

/**
 * tsc keeps the sources' `./x.ts` specifiers in declarations (rewriteRelativeImportExtensions rewrites
 * JavaScript only); `./x.js` is what every TypeScript version expects of a published package.
 */
async function rewriteDeclarationSpecifiers(outDir: string): Promise<void> {
  const names = (await readdir(outDir, { recursive: true })).filter((name) => name.endsWith('.d.ts'));
  await Promise.all(
    names.map(async (name) => {
      const path = join(outDir, name);
      const text = await readFile(path, 'utf8');
      await writeFile(path, text.replace(RELATIVE_TS_SPECIFIER, '$1$2$3.js$2'));
    }),
  );
}

if (import.meta.main) {
  try {
    const files = await buildServer();
    process.stdout.write(`${relative(ROOT, SERVER_DIST)}: ${files.join(', ')}\n`);
  } catch (error) {
    process.stderr.write(`build:server: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

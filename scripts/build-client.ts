/**
 * `npm run build:client`: the `@parley/client` package in client/dist. esbuild bundles the SDK into one
 * self-contained ES module (platform `neutral`: nothing Node- or browser-specific is assumed, so the same
 * file runs in browsers, React Native and Node.js), then tsc writes the type declarations from
 * client/tsconfig.json. Prints the bundle's size, raw and gzipped.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = join(import.meta.dirname, '..');
const CLIENT = join(ROOT, 'client');
export const CLIENT_DIST = join(CLIENT, 'dist');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

export interface ClientBuild {
  /** The bundle: `{outDir}/index.js`. */
  readonly bundlePath: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Module specifiers the bundle still imports, from esbuild's metafile: none when self-contained. */
  readonly imports: readonly string[];
}

/** Empties `outDir`, then writes `index.js`, its source map and the `.d.ts` files into it. */
export async function buildClient(outDir: string = CLIENT_DIST): Promise<ClientBuild> {
  await rm(outDir, { recursive: true, force: true });
  const bundlePath = join(outDir, 'index.js');
  const result = await build({
    entryPoints: [join(CLIENT, 'src', 'index.ts')],
    tsconfig: join(CLIENT, 'tsconfig.json'),
    outfile: bundlePath,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    minify: false,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  const imports = Object.values(result.metafile.outputs).flatMap((output) =>
    output.imports.map((entry) => entry.path),
  );
  await promisify(execFile)(
    process.execPath,
    [TSC, '-p', join(CLIENT, 'tsconfig.json'), '--outDir', outDir],
    {
      cwd: ROOT,
    },
  ).catch((error: { stdout?: string; message: string }) => {
    // tsc reports type errors on stdout; without them the failure would say only "exit code 2".
    throw new Error(`tsc failed for client/tsconfig.json:\n${error.stdout || error.message}`);
  });
  await rewriteDeclarationSpecifiers(outDir);
  const bundle = await readFile(bundlePath);
  return { bundlePath, bytes: bundle.byteLength, gzipBytes: gzipSync(bundle).byteLength, imports };
}

/** `from './x.ts'` and `import('./x.ts')` with a relative path; the quote is group 2. */
const RELATIVE_TS_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.\.?\/[^'"]*?)\.ts\2/g;

/**
 * tsc keeps the sources' `./x.ts` specifiers in declarations (rewriteRelativeImportExtensions rewrites
 * JavaScript only). TypeScript 5 resolves them, but `./x.js` is what every TypeScript version and
 * declaration tool expects of a published package.
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
    const built = await buildClient();
    process.stdout.write(
      `${relative(ROOT, built.bundlePath)}: ${built.bytes} bytes, ${built.gzipBytes} bytes gzipped\n`,
    );
  } catch (error) {
    process.stderr.write(`build:client: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

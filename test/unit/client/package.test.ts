/**
 * The `@parley/client` package as it would be installed: built by scripts/build-client.ts into a
 * temporary `node_modules/@parley/client`, then checked for what the issue promises: no runtime
 * dependencies, one self-contained ES module that Node.js imports as is, declarations without `any`
 * that a TypeScript project resolves through the package's `exports`, with DOM types or Node's.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient, type ClientBuild } from '../../../scripts/build-client.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const MANIFEST = join(ROOT, 'client', 'package.json');

let temp: string;
let dist: string;
let built: ClientBuild;

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'parley-client-'));
  const installed = join(temp, 'node_modules', '@parley', 'client');
  dist = join(installed, 'dist');
  built = await buildClient(dist);
  await cp(MANIFEST, join(installed, 'package.json'));
}, 120_000);

afterAll(async () => {
  if (temp) await rm(temp, { recursive: true, force: true });
});

async function declarationFiles(): Promise<{ name: string; text: string }[]> {
  const names = (await readdir(dist, { recursive: true })).filter((name) => name.endsWith('.d.ts'));
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(dist, name), 'utf8') })));
}

/** Comments removed, so that prose such as "any number of" is not taken for a type. */
const withoutComments = (source: string) =>
  source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

/** Type errors of `file` compiled as a consumer of the installed package would compile it. */
function typeErrors(file: string, options: ts.CompilerOptions): string[] {
  const program = ts.createProgram([file], {
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    // The package's own declarations must hold up, so they are checked too.
    skipLibCheck: false,
    ...options,
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file ? `${diagnostic.file.fileName.replace(temp, '')}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}

describe('@parley/client package', () => {
  it('declares no runtime dependencies and the exports the issue asks for', async () => {
    const manifest = JSON.parse(await readFile(MANIFEST, 'utf8')) as Record<string, unknown>;
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'bundleDependencies']) {
      expect(manifest, field).not.toHaveProperty(field);
    }
    expect(manifest).toMatchObject({
      name: '@parley/client',
      type: 'module',
      exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
      files: ['dist'],
      sideEffects: false,
    });
  });

  it('bundles into one ES module that imports nothing', async () => {
    expect(built.imports).toEqual([]);
    const bundle = await readFile(built.bundlePath, 'utf8');
    expect(bundle).not.toMatch(/^\s*import\s/m);
    expect(bundle).not.toMatch(/^\s*export\s[^;]*\sfrom\s*['"]/m);
    expect(bundle).not.toMatch(/\bimport\s*\(/);
    expect(bundle).not.toMatch(/\brequire\s*\(/);
    expect(await readdir(dist)).toContain('index.js.map');
    expect(built.gzipBytes).toBeGreaterThan(0);
    expect(built.gzipBytes).toBeLessThan(built.bytes);
  });

  it('is imported by plain Node.js and exports ParleyClient and memoryStorage', async () => {
    // A child process, so that Node itself loads the file, not vitest's module runner.
    const script = `const m = await import(${JSON.stringify(pathToFileURL(built.bundlePath).href)});
      console.log(JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v]))));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toMatchObject({ ParleyClient: 'function', memoryStorage: 'function' });
  });

  it('has declarations for every module, with no `any`', async () => {
    const files = await declarationFiles();
    expect(files.map((file) => file.name)).toContain('index.d.ts');
    const anys = files.flatMap(({ name, text }) =>
      withoutComments(text)
        .split('\n')
        .flatMap((line, i) => (/\bany\b/.test(line) ? [`${name}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(anys).toEqual([]);
  });

  it('points every relative import of the declarations at a declaration file, with `.js` specifiers', async () => {
    const files = await declarationFiles();
    const names = new Set(files.map((file) => file.name));
    const specifiers = files.flatMap(({ name, text }) =>
      [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)['"](\.\.?\/[^'"]+)['"]/g)].map((match) => ({
        name,
        specifier: match[1] ?? '',
      })),
    );
    expect(specifiers.length).toBeGreaterThan(0);
    for (const { name, specifier } of specifiers) {
      expect(specifier, name).toMatch(/\.js$/);
      const target = join(dirname(name), specifier.replace(/\.js$/, '.d.ts'));
      expect(names, `${name} imports ${specifier}`).toContain(target);
    }
  });

  it('type-checks in a consumer through the package exports, with DOM types and with Node types', async () => {
    const consumer = join(temp, 'consumer.mts');
    await writeFile(
      consumer,
      [
        "import { memoryStorage, ParleyClient } from '@parley/client';",
        'export const client: typeof ParleyClient = ParleyClient;',
        'export const storage: typeof memoryStorage = memoryStorage;',
        '',
      ].join('\n'),
    );
    expect(typeErrors(consumer, { lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [] })).toEqual([]);
    expect(
      typeErrors(consumer, {
        lib: ['lib.es2023.d.ts'],
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      }),
    ).toEqual([]);
  }, 60_000);
});

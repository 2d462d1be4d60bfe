/**
 * The `@parley/server` package as it would be installed: built by server/build.ts into a temporary
 * `node_modules/@parley/server` (its dependencies linked beside it from this repository's node_modules),
 * then checked: the manifest, declarations without `any` that import nothing but each other, plain
 * Node.js importing it by name and calling a real HTTP server that checks its signatures, and a
 * TypeScript consumer that type-checks through the package's `exports`.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../server/build.ts';
import { expectedSignature, LOCAL_KEYS, parseAuthorization } from './support.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const MANIFEST = join(ROOT, 'server', 'package.json');

interface Manifest {
  readonly name: string;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly [field: string]: unknown;
}

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Manifest;

let temp: string;
let dist: string;
let files: string[];
let manifest: Manifest;

beforeAll(async () => {
  manifest = await readJson(MANIFEST);
  temp = await mkdtemp(join(tmpdir(), 'parley-server-'));
  const installed = join(temp, 'node_modules', '@parley', 'server');
  dist = join(installed, 'dist');
  files = await buildServer(dist);
  await cp(MANIFEST, join(installed, 'package.json'));
  // Its dependencies, as npm would install them beside it (theirs resolve from their real paths).
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    const link = join(temp, 'node_modules', name);
    await mkdir(dirname(link), { recursive: true });
    await symlink(join(ROOT, 'node_modules', name), link, 'dir');
  }
}, 120_000);

afterAll(async () => {
  if (temp) await rm(temp, { recursive: true, force: true });
});

async function declarationFiles(): Promise<{ name: string; text: string }[]> {
  const names = files.filter((name) => name.endsWith('.d.ts'));
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(dist, name), 'utf8') })));
}

/** Comments removed, so that prose such as "any string" is not taken for a type. */
const withoutComments = (source: string) =>
  source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

/** `from 'x'` and `import('x')` specifiers of a module's text. */
const specifiers = (text: string) =>
  [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '');

/** The package a bare specifier names: `@smithy/core/checksum` → `@smithy/core`. */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Type errors of `file` compiled as a consumer of the installed package would compile it. */
function typeErrors(file: string): string[] {
  const program = ts.createProgram([file], {
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    // The package's own declarations must hold up, so they are checked too.
    skipLibCheck: false,
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file ? `${diagnostic.file.fileName.replace(temp, '')}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}

describe('@parley/server package', () => {
  it('is an ES module package with exports, types, engines and its three dependencies', async () => {
    expect(manifest).toMatchObject({
      name: '@parley/server',
      type: 'module',
      exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
      types: './dist/index.d.ts',
      files: ['dist'],
      sideEffects: false,
      engines: { node: '>=22' },
    });
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual([
      '@aws-sdk/credential-provider-node',
      '@smithy/core',
      '@smithy/signature-v4',
    ]);
    // Each is the version installed here, which the repository's own package.json pins.
    const root = await readJson(join(ROOT, 'package.json'));
    for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
      const installed = (await readJson(join(ROOT, 'node_modules', name, 'package.json'))) as Manifest & {
        version: string;
      };
      expect(range, name).toBe(`^${installed.version}`);
      expect(root.dependencies?.[name] ?? root.devDependencies?.[name], name).toBe(installed.version);
    }
  });

  it('ships JavaScript that imports only its own modules and its declared dependencies', async () => {
    expect(files).toContain('index.js');
    expect(files).toContain('index.d.ts');
    const bare = new Set<string>();
    for (const name of files.filter((file) => file.endsWith('.js'))) {
      for (const specifier of specifiers(await readFile(join(dist, name), 'utf8'))) {
        if (specifier.startsWith('.')) {
          expect(specifier, name).toMatch(/\.js$/);
          expect(files, `${name} imports ${specifier}`).toContain(join(dirname(name), specifier));
        } else {
          bare.add(packageOf(specifier));
        }
      }
    }
    expect([...bare].sort()).toEqual(Object.keys(manifest.dependencies ?? {}).sort());
  });

  it('has declarations without `any` that import only each other, with `.js` specifiers', async () => {
    const declarations = await declarationFiles();
    const anys = declarations.flatMap(({ name, text }) =>
      withoutComments(text)
        .split('\n')
        .flatMap((line, i) => (/\bany\b/.test(line) ? [`${name}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(anys).toEqual([]);
    const names = new Set(declarations.map((file) => file.name));
    for (const { name, text } of declarations) {
      for (const specifier of specifiers(text)) {
        // Its public types need no package of their own: a consumer compiles with Node's types alone.
        expect(specifier, name).toMatch(/^\.\.?\/.*\.js$/);
        expect(names, `${name} imports ${specifier}`).toContain(
          join(dirname(name), specifier.replace(/\.js$/, '.d.ts')),
        );
      }
    }
  });

  it('is imported by name by plain Node.js, and its signed calls verify at a real HTTP server', async () => {
    const received: { method: string; url: string; verified: boolean }[] = [];
    const server: Server = createServer((request, response) => {
      void answer(request).then(([status, body]) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      );
    });
    async function answer(request: IncomingMessage): Promise<[number, unknown]> {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers))
        if (typeof value === 'string') headers[name] = value;
      const url = new URL(request.url ?? '/', `http://${request.headers.host}`);
      const body = chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : undefined;
      const sent = { method: request.method ?? '', url, headers, body };
      const verified =
        parseAuthorization(headers.authorization).signature ===
        (await expectedSignature(sent, LOCAL_KEYS, 'local'));
      received.push({ method: sent.method, url: `${url.pathname}${url.search}`, verified });
      if (!verified) return [403, { code: 'forbidden', message: 'signature' }];
      if (sent.method === 'POST' && url.pathname.endsWith('/messages')) {
        return [
          201,
          {
            conversationId: 'dm:alice:bob',
            messageId: 'm1',
            seq: 1,
            version: 1,
            createdAt: '2026-11-23T10:30:00.000Z',
            duplicate: false,
          },
        ];
      }
      return [404, { code: 'not_found', message: 'no such user' }];
    }
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const script = join(temp, 'call.mjs');
      await writeFile(
        script,
        [
          "import { ParleyServer, ParleyServerError } from '@parley/server';",
          'const server = ParleyServer.local({ url: process.argv[2] });',
          "const answer = await server.sendMessage('dm:alice:bob', { clientMessageId: 'c1', content: 'hi', senderId: 'system' });",
          'const refused = await server.listMessages("x y", { afterSeq: 0 }).catch((e) => e);',
          'console.log(JSON.stringify({ answer, refused: { isError: refused instanceof ParleyServerError, status: refused.status, code: refused.code, retryable: refused.retryable } }));',
          '',
        ].join('\n'),
      );
      const env = { ...process.env };
      delete env.PARLEY_LOCAL_ACCESS_KEY_ID;
      delete env.PARLEY_LOCAL_SECRET_ACCESS_KEY;
      const { stdout } = await promisify(execFile)(process.execPath, [script, `http://127.0.0.1:${port}`], {
        cwd: temp,
        env,
      });
      expect(JSON.parse(stdout)).toEqual({
        answer: expect.objectContaining({ conversationId: 'dm:alice:bob', seq: 1, duplicate: false }),
        refused: { isError: true, status: 404, code: 'not_found', retryable: false },
      });
      expect(received).toEqual([
        { method: 'POST', url: '/v1/conversations/dm%3Aalice%3Abob/messages', verified: true },
        { method: 'GET', url: '/v1/conversations/x%20y/messages?afterSeq=0', verified: true },
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);

  it('type-checks in a consumer through the package exports, with Node types', async () => {
    const consumer = join(temp, 'consumer.mts');
    await writeFile(
      consumer,
      [
        'import {',
        '  type CreatedConversation, type MessagePage, ParleyServer, ParleyServerError,',
        '  type ReportList, type SentMessage, SYSTEM_SENDER, type WriteAnswer,',
        "} from '@parley/server';",
        'const local: ParleyServer = ParleyServer.local();',
        'const aws = new ParleyServer({',
        "  url: 'https://abc123.execute-api.eu-west-1.amazonaws.com',",
        "  credentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: 'secret' }),",
        '  retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 2000 },',
        '  timeoutMs: 10_000,',
        '});',
        "export const created: Promise<CreatedConversation> = local.createConversation({ members: ['a', 'b'] });",
        'export const sent: Promise<SentMessage> = aws.sendMessage(',
        "  'c', { clientMessageId: 'm', content: 'hi', senderId: SYSTEM_SENDER }, { idempotencyKey: 'k' },",
        ');',
        "export const page: Promise<MessagePage> = local.listMessages('c', { afterVersion: 3, limit: 10 });",
        "export const reports: Promise<ReportList> = local.listReports({ status: 'open' });",
        'export const writes: Promise<WriteAnswer>[] = [',
        "  local.resolveReport('r', { note: 'done' }), local.block('a', 'b'), local.unblock('a', 'b'),",
        "  local.deactivate('a'), local.reactivate('a'), local.revoke('a', { signal: AbortSignal.timeout(1000) }),",
        '];',
        'export async function seqs(): Promise<number[]> {',
        "  const { messages } = await local.listMessages('c');",
        '  return messages.map((message) => message.seq);',
        '}',
        'export function describe(error: unknown): string {',
        '  return error instanceof ParleyServerError ? [error.status, error.code, error.retryable].join(" ") : String(error);',
        '}',
        '// @ts-expect-error afterSeq and afterVersion are not asked together',
        "void local.listMessages('c', { afterSeq: 1, afterVersion: 2 });",
        '// @ts-expect-error not served yet: no method',
        "void local.eraseUser('a');",
        '',
      ].join('\n'),
    );
    expect(typeErrors(consumer)).toEqual([]);
  }, 60_000);
});

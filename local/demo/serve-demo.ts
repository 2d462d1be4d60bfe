/**
 * The demo chat page of the local stack (`GET /`, `/demo/app.js`, `/demo/style.css`): static files from
 * this folder, and `app.ts` bundled for the browser with the project's esbuild the first time it is
 * asked for, then kept in memory (restart `npm start` after editing it). Only in the local stack: the
 * deployed API has no HTTP routes at all.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { localLog } from '../log.ts';

interface Asset {
  readonly contentType: string;
  readonly load: () => Promise<string>;
}

const HERE = import.meta.dirname;
const file = (name: string) => () => readFile(join(HERE, name), 'utf8');

const ASSETS: Readonly<Record<string, Asset>> = {
  '/': { contentType: 'text/html; charset=utf-8', load: file('index.html') },
  '/demo/style.css': { contentType: 'text/css; charset=utf-8', load: file('style.css') },
  '/demo/app.js': { contentType: 'text/javascript; charset=utf-8', load: bundleOnce },
};

/**
 * Scripts and styles only from this origin, no inline code, no plugins, no framing; the WebSocket is
 * this origin's too but `'self'` does not cover `ws:` in every browser. The favicon is an empty data URL.
 */
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // A restarted stack serves a fresh bundle; nothing here is worth a stale copy.
  'Cache-Control': 'no-store',
} as const;

/**
 * Photos go to and come from the attachments bucket, another origin (the local stack's S3 at
 * `S3_ENDPOINT`): the page may PUT uploads to it and show images from it, and nothing else.
 */
function contentSecurityPolicy(): string {
  const s3 = s3Origin();
  const extra = s3 === undefined ? '' : ` ${s3}`;
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:${extra}; connect-src 'self' ws: wss:${extra}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;
}

function s3Origin(): string | undefined {
  const endpoint = process.env.S3_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return undefined;
  try {
    return new URL(endpoint).origin;
  } catch {
    return undefined;
  }
}

const cache = new Map<string, Promise<string>>();

/** Answers `GET`/`HEAD` for the demo's paths and returns true; false leaves the request to the caller. */
export async function serveDemo(
  method: string,
  pathname: string,
  response: ServerResponse,
): Promise<boolean> {
  const asset = ASSETS[pathname];
  if (asset === undefined || (method !== 'GET' && method !== 'HEAD')) return false;
  let body: string;
  try {
    body = await loadOnce(pathname, asset);
  } catch (error) {
    localLog.error(
      `demo page: ${pathname} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    response
      .writeHead(500, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Security-Policy': contentSecurityPolicy(),
        ...SECURITY_HEADERS,
      })
      .end('The demo page could not be built; see the npm start terminal.\n');
    return true;
  }
  response
    .writeHead(200, {
      'Content-Type': asset.contentType,
      'Content-Length': Buffer.byteLength(body),
      'Content-Security-Policy': contentSecurityPolicy(),
      ...SECURITY_HEADERS,
    })
    .end(method === 'HEAD' ? undefined : body);
  return true;
}

/** One load per asset, shared by concurrent requests; a failure is forgotten so the next request retries. */
function loadOnce(pathname: string, asset: Asset): Promise<string> {
  let loading = cache.get(pathname);
  if (loading === undefined) {
    loading = asset.load();
    loading.catch(() => cache.delete(pathname));
    cache.set(pathname, loading);
  }
  return loading;
}

async function bundleOnce(): Promise<string> {
  const started = performance.now();
  // Loaded on first use, so a stack that never serves the page never loads esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(HERE, 'app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const text = result.outputFiles[0]?.text;
  if (text === undefined) throw new Error('esbuild produced no output');
  localLog.info(`demo page: app.ts bundled in ${Math.round(performance.now() - started)} ms`);
  return text;
}

/**
 * The handlers' bundles leave out the credential providers Lambda never reaches (lib/bundling.ts). That
 * is only safe while nothing imports them statically: a static import of a module missing from the
 * bundle would fail every cold start. Each handler is bundled with the stack's settings and its
 * imports of those modules are checked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CREDENTIAL_PROVIDERS_LAMBDA_NEVER_REACHES,
  esbuildOptions,
  HANDLER_BUNDLING,
  HANDLER_ENTRIES,
} from '../../lib/bundling.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const outdir = mkdtempSync(join(tmpdir(), 'parley-bundling-'));
const leftOut = new Set<string>(CREDENTIAL_PROVIDERS_LAMBDA_NEVER_REACHES);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('modules left out of the handler bundles', () => {
  it('are exactly the credential providers after environment credentials in the default chain', () => {
    expect([...HANDLER_BUNDLING.externalModules].sort()).toEqual([...leftOut].sort());
    expect(leftOut.has('@aws-sdk/credential-provider-env')).toBe(false);
  });

  it.each(
    HANDLER_ENTRIES.map((entry) => [entry.name, entry.entry]),
  )('%s imports them only dynamically, never at load', async (_name, entry) => {
    const result = await build({
      ...esbuildOptions(entry, ROOT, join(outdir, _name)),
      sourcemap: false,
      write: false,
      metafile: true,
    });
    const imports = Object.values(result.metafile.outputs).flatMap((output) => output.imports);
    const ofLeftOut = imports.filter((entryImport) => leftOut.has(entryImport.path));
    expect(ofLeftOut.filter((entryImport) => entryImport.kind !== 'dynamic-import')).toEqual([]);
  });
});

/**
 * The real thing: runs the CDK app entry point (what `npx cdk synth` runs, cdk.json) with bundling,
 * offline, into a temporary cloud assembly, and checks the template, the cdk-nag verdict and the
 * Lambda bundles esbuild produced.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildParley } from '../../lib/app.ts';
import { FUNCTION_PERMISSIONS } from '../../lib/permissions.ts';
import { PUSH_CONTEXT } from './parley-app.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** architecture.md: each Lambda bundle at most 400 KB. */
const BUNDLE_BUDGET_BYTES = 400 * 1024;

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

describe('cdk synth (bin/parley.ts, with bundling)', () => {
  let outdir: string;
  let run: { status: number | null; stdout: string; stderr: string };
  let template: Template;

  beforeAll(() => {
    // GIVEN a fresh output folder and no AWS credentials or network needs
    outdir = mkdtempSync(join(tmpdir(), 'parley-synth-'));
    // WHEN the app runs the way the CDK CLI runs it (CDK_OUTDIR makes the app synthesize on exit)
    run = spawnSync(process.execPath, ['bin/parley.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDK_OUTDIR: outdir },
      encoding: 'utf8',
      timeout: 280_000,
    });
    if (run.status === 0) template = JSON.parse(readFileSync(join(outdir, 'Parley.template.json'), 'utf8'));
  });

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('succeeds, including the cdk-nag AwsSolutions validation it registers', () => {
    expect(run.stderr).not.toMatch(/AwsSolutions-|ValidationFailed/);
    expect(run.status, run.stderr).toBe(0);
    expect(Object.keys(template.Resources).length).toBeGreaterThan(0);
  });

  it('bundles every function into a minified ESM file with its source map', () => {
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(Object.keys(FUNCTION_PERMISSIONS).length);
    for (const fn of functions) {
      const key = (fn.Properties.Code as { S3Key: string }).S3Key.replace(/\.zip$/, '');
      const bundle = join(outdir, `asset.${key}`, 'index.mjs');
      const code = readFileSync(bundle, 'utf8');
      const description = String(fn.Properties.Description);

      expect(
        code.startsWith("import { createRequire as __parleyCreateRequire } from 'node:module';"),
        description,
      ).toBe(true);
      expect(code, description).toMatch(/export\s*\{[^}]*\bhandler\b[^}]*\}/);
      // Minified: long lines, not one indented statement per line.
      expect(code.length / code.split('\n').length, description).toBeGreaterThan(200);
      // The SDK is inside the bundle, not imported from the runtime's copy.
      expect(
        code.match(/(?:^|[;}\n])import\s*[^;'"]*from\s*["']@aws-sdk\/[^"']*/)?.[0],
        description,
      ).toBeUndefined();
      expect(statSync(bundle).size, description).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);

      const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as {
        sources: string[];
        sourcesContent?: unknown;
      };
      expect(
        map.sources.some((source) => source.includes('functions/')),
        description,
      ).toBe(true);
      expect(map.sourcesContent, description).toBeUndefined();
    }
  });

  it('needs no account or region: the stack is environment-agnostic', () => {
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
      artifacts: Record<string, { type: string; environment?: string }>;
    };
    const stack = Object.values(manifest.artifacts).find((a) => a.type === 'aws:cloudformation:stack');
    expect(stack?.environment).toBe('aws://unknown-account/unknown-region');
    expect(existsSync(join(outdir, 'cdk.context.json'))).toBe(false);
  });
});

describe('cdk-nag AwsSolutions checks', () => {
  it.each([
    ['no configuration', {}],
    [
      'push platforms, an existing secret by name and an alarm e-mail',
      { ...PUSH_CONTEXT, jwtSecretId: 'parley/jwt', alarmEmail: 'ops@example.com' },
    ],
    [
      'a JWKS identity provider',
      { jwksUrl: 'https://idp.example/jwks.json', jwtIssuer: 'https://idp.example/', jwtAudience: 'parley' },
    ],
  ])('report no unacknowledged finding with %s', (_case, context) => {
    // GIVEN the app with that configuration (bundling skipped: nag reads the template, not the code)
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
    const stack = buildParley(app);
    // WHEN the AwsSolutions pack checks it
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    // THEN every finding is either fixed or acknowledged with a reason
    expect(
      report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('are applied to the app: a non-compliant resource fails synth', () => {
    // GIVEN the app with one unencrypted, non-TLS queue added
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    buildParley(app);
    new sqs.Queue(new Stack(app, 'Careless'), 'Queue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    // THEN synth refuses it, naming the rules
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS2[\s\S]*AwsSolutions-SQS4/);
  });

  it('every acknowledgement in the stack carries a reason', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...PUSH_CONTEXT } });
    const stack = buildParley(app);
    const acknowledgements = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements) {
      expect(id).toMatch(/AwsSolutions-/);
      expect(reason.length, id).toBeGreaterThan(40);
    }
  });
});

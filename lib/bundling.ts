/**
 * How every Parley handler is bundled, in one place: the CDK stack (lib/constructs/parley-function.ts)
 * hands these settings to NodejsFunction, and the benchmark (bench/) gives the same ones to esbuild
 * directly, so the bundle sizes and cold starts it measures are those of what gets deployed.
 * No CDK import here: the benchmark loads this module without loading aws-cdk-lib.
 */
import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { HANDLER_MODULES } from '../definitions/handlers.ts';

/**
 * `require` for the CommonJS dependencies esbuild inlines into the ESM bundle (some SDK v3 internals
 * still `require` Node built-ins, which a plain ES module cannot do).
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __parleyCreateRequire } from 'node:module'; const require = __parleyCreateRequire(import.meta.url);";

/** Reached only without environment credentials (SSO, profiles, web identity, container/instance metadata). */
export const CREDENTIAL_PROVIDERS_LAMBDA_NEVER_REACHES = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-http',
  '@smithy/credential-provider-imds',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
] as const;

export const HANDLER_BUNDLING = {
  format: 'esm',
  target: 'node24',
  // ES module entry points first, so esbuild can tree-shake the SDK's modular clients.
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // AWS SDK v3 is bundled, not taken from the runtime (NodejsFunction's default marks
  // `@aws-sdk/*` external). The bundle then runs the exact versions package-lock.json pins and
  // the tests ran against, whatever SDK the Lambda runtime ships this month; tree-shaken and
  // minified, a handler stays within architecture.md's 400 KB budget (a bare DynamoDB client is
  // ~330 KB), and loading one small file starts faster than resolving the runtime's full SDK
  // packages from disk.
  // The exception: credential providers the SDK's default chain would only reach after environment
  // credentials, which Lambda always sets for the function's role. The chain loads each of them with a
  // dynamic `import()` (test/cdk/bundling.test.ts checks that no static import remains), so leaving them
  // out never changes what runs in Lambda, and takes about 100 KB off every bundle.
  externalModules: [...CREDENTIAL_PROVIDERS_LAMBDA_NEVER_REACHES],
} as const;

/** NodejsFunction names the ESM bundle `index.mjs`. */
export const BUNDLE_FILE_NAME = 'index.mjs';

export interface HandlerEntry {
  /** The function's name in lib/permissions.ts (the handler module's file name). */
  readonly name: string;
  /** Path of the handler module, relative to the repository root. */
  readonly entry: string;
}

/** Every Lambda the stack deploys, from the shared definitions: the routes, the authorizer, delivery. */
export const HANDLER_ENTRIES: readonly HandlerEntry[] = Object.entries(HANDLER_MODULES).map(
  ([name, entry]) => ({
    name,
    entry,
  }),
);

/**
 * The esbuild options NodejsFunction derives from HANDLER_BUNDLING (its `--bundle --platform=node`
 * command line), for building a handler without CDK.
 */
export function esbuildOptions(entry: string, projectRoot: string, outdir: string): BuildOptions {
  return {
    entryPoints: [join(projectRoot, entry)],
    absWorkingDir: projectRoot,
    outfile: join(outdir, BUNDLE_FILE_NAME),
    bundle: true,
    platform: 'node',
    format: HANDLER_BUNDLING.format,
    target: HANDLER_BUNDLING.target,
    mainFields: [...HANDLER_BUNDLING.mainFields],
    banner: { js: HANDLER_BUNDLING.banner },
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourceMap,
    sourcesContent: HANDLER_BUNDLING.sourcesContent,
    external: [...HANDLER_BUNDLING.externalModules],
    logLevel: 'warning',
  };
}

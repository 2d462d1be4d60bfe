/**
 * `npm run admin -- <command> <id> [options]`: the operators' tools of protocol.md "Operations", against
 * the local stack (`--local`: its `/_local/` endpoints) or a deployed stack (the outputs `cdk deploy
 * --outputs-file` wrote: its table and `@connections` URL, with your own AWS credentials). Both run the
 * same domain functions (functions/domain/operations.ts). Exit 0 when done, 1 when it failed, 2 for a
 * mistake on the command line.
 */
import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export const COMMANDS = {
  deactivate: { path: (id: string) => `users/${encodeURIComponent(id)}/deactivate`, what: 'user' },
  reactivate: { path: (id: string) => `users/${encodeURIComponent(id)}/reactivate`, what: 'user' },
  'revoke-sessions': { path: (id: string) => `users/${encodeURIComponent(id)}/revoke`, what: 'user' },
  'revoke-token': { path: (id: string) => `tokens/${encodeURIComponent(id)}/revoke`, what: 'jti' },
} as const;
export type Command = keyof typeof COMMANDS;

export const USAGE = `Usage: npm run -s admin -- <command> <userId | jti> [--local [URL]] [--outputs FILE] [--stack NAME]

Commands:
  deactivate <userId>       refuse the user's connections and messages to them; close their sockets
  reactivate <userId>       undo deactivate
  revoke-sessions <userId>  refuse every token issued before now; close their sockets
  revoke-token <jti>        refuse one token until it expires; close the connections opened with it

Where:
  --local [URL]      the local stack (default http://localhost:3001); --admin-key KEY or PARLEY_ADMIN_KEY
                     when it listens on the network
  --outputs FILE     a deployed stack: the file \`npx cdk deploy --outputs-file FILE\` wrote (default
                     cdk-outputs.json), with your AWS credentials (the default provider chain)
  --stack NAME       the stack in that file (default: the only one)
  --by NAME          who is asking, for the log (default: your user name @ this host)
  -h, --help         this text
`;

const OPTIONS = {
  local: { type: 'boolean' },
  outputs: { type: 'string' },
  stack: { type: 'string' },
  'admin-key': { type: 'string' },
  by: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

export type Target =
  | { kind: 'local'; url: string; adminKey: string | undefined }
  | { kind: 'aws'; outputsFile: string; stack: string | undefined };

export interface Request {
  command: Command;
  id: string;
  target: Target;
  by: string;
}

export class AdminUsageError extends Error {}

/** What the command line asks for; `--local` may be followed by the stack's URL. */
export function parseAdminArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Request | 'help' {
  const args = [...argv];
  let localUrl: string | undefined;
  const localAt = args.indexOf('--local');
  if (localAt >= 0 && /^https?:\/\//.test(args[localAt + 1] ?? '')) [localUrl] = args.splice(localAt + 1, 1);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new AdminUsageError(error instanceof Error ? error.message.split('\n')[0] : String(error));
  }
  if (parsed.values.help === true) return 'help';
  const [command, id, extra] = parsed.positionals;
  if (command === undefined) throw new AdminUsageError('missing <command>');
  if (!(command in COMMANDS)) throw new AdminUsageError(`unknown command "${command}"`);
  const spec = COMMANDS[command as Command];
  if (id === undefined || id === '')
    throw new AdminUsageError(`missing <${spec.what === 'user' ? 'userId' : 'jti'}>`);
  if (extra !== undefined) throw new AdminUsageError(`unexpected argument "${extra}"`);
  if (parsed.values.local === true && parsed.values.outputs !== undefined) {
    throw new AdminUsageError('give --local or --outputs, not both');
  }
  const target: Target =
    parsed.values.local === true
      ? {
          kind: 'local',
          url: (localUrl ?? 'http://localhost:3001').replace(/\/+$/, ''),
          adminKey: parsed.values['admin-key'] ?? (env.PARLEY_ADMIN_KEY || undefined),
        }
      : { kind: 'aws', outputsFile: parsed.values.outputs ?? 'cdk-outputs.json', stack: parsed.values.stack };
  return {
    command: command as Command,
    id,
    target,
    by: parsed.values.by ?? `${userInfo().username}@${hostname()}`,
  };
}

/** The outputs of one stack, from the file `cdk deploy --outputs-file` writes. */
export async function stackOutputs(file: string, stack: string | undefined): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(
      `cannot read ${file}: deploy with \`npx cdk deploy --outputs-file ${file}\`, or pass --outputs`,
    );
  }
  const stacks = JSON.parse(text) as Record<string, Record<string, string>>;
  const names = Object.keys(stacks);
  const name = stack ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined || stacks[name] === undefined) {
    throw new Error(
      `${file} holds ${names.length === 0 ? 'no stack' : `stacks ${names.join(', ')}`}: choose one with --stack`,
    );
  }
  return stacks[name];
}

/** Runs the request; resolves with the line to print. */
export async function runAdmin(request: Request, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { command, id, target } = request;
  if (target.kind === 'local') {
    const response = await fetch(`${target.url}/_local/${COMMANDS[command].path(id)}`, {
      method: 'POST',
      headers: target.adminKey === undefined ? {} : { Authorization: `Bearer ${target.adminKey}` },
    }).catch((error: unknown) => {
      throw new Error(
        `cannot reach the local stack at ${target.url} (is \`npm start\` running?): ${String(error)}`,
      );
    });
    if (response.status !== 204) {
      throw new Error(
        `the local stack answered ${response.status}: ${(await response.text()).slice(0, 200)}`,
      );
    }
    return `${command} ${id}: done (local stack at ${target.url})`;
  }
  const outputs = await stackOutputs(target.outputsFile, target.stack);
  const tableName = outputs.TableName;
  const managementUrl = outputs.ManagementApiUrl;
  if (tableName === undefined || managementUrl === undefined) {
    throw new Error(`${target.outputsFile} lacks TableName or ManagementApiUrl: is it Parley's stack?`);
  }
  // The domain's clients read their configuration when first imported, as in Lambda.
  env.TABLE_NAME = tableName;
  env.WS_CALLBACK_URL = managementUrl;
  env.AWS_REGION ??= /execute-api\.([a-z0-9-]+)\.amazonaws/.exec(managementUrl)?.[1];
  const operations = await import('../functions/domain/operations.ts');
  const result =
    command === 'deactivate'
      ? await operations.deactivateUser(id, request.by)
      : command === 'reactivate'
        ? await operations.reactivateUser(id, request.by)
        : command === 'revoke-sessions'
          ? await operations.revokeSessions(id, request.by)
          : await operations.revokeToken(id, request.by);
  return `${command} ${id}: done, ${result.closed} connection(s) closed (table ${tableName})`;
}

async function main(): Promise<void> {
  let request: Request | 'help';
  try {
    request = parseAdminArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`admin: ${(error as Error).message}\n${USAGE.split('\n')[0]} (--help for more)\n`);
    process.exit(2);
  }
  if (request === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  try {
    process.stdout.write(`${await runAdmin(request)}\n`);
  } catch (error) {
    process.stderr.write(`admin: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

if (import.meta.main) await main();

/**
 * `npm run admin -- <command> <id> [options]`: the operators' tools of protocol.md "Operations", against
 * the local stack (`--local`: its `/_local/` endpoints) or a deployed stack (the outputs `cdk deploy
 * --outputs-file` wrote: its table and `@connections` URL, with your own AWS credentials). Both run the
 * same domain functions (functions/domain/operations.ts). `failures` and `redrive` work on the delivery
 * on-failure queue (admin/queue-commands.ts); `reports` and `resolve` on the report queue
 * (admin/report-commands.ts). Exit 0 when done, 1 when it failed (for `redrive`: when an entry was not
 * redelivered; for `resolve`: no such report), 2 for a mistake on the command line.
 */
import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  type QueueCommand,
  type QueueRequest,
  runQueueCommand,
} from './queue-commands.ts';
import {
  REPORT_COMMANDS,
  type ReportCommand,
  type ReportRequest,
  reportRequest,
  runReportCommand,
} from './report-commands.ts';

export const COMMANDS = {
  deactivate: { path: (id: string) => `users/${encodeURIComponent(id)}/deactivate`, what: 'user' },
  reactivate: { path: (id: string) => `users/${encodeURIComponent(id)}/reactivate`, what: 'user' },
  'revoke-sessions': { path: (id: string) => `users/${encodeURIComponent(id)}/revoke`, what: 'user' },
  'revoke-token': { path: (id: string) => `tokens/${encodeURIComponent(id)}/revoke`, what: 'jti' },
} as const;
export type Command = keyof typeof COMMANDS;
const QUEUE_COMMANDS: readonly string[] = ['failures', 'redrive'] satisfies QueueCommand[];

export const USAGE = `Usage: npm run -s admin -- <command> [<userId | jti | reportId>] [--local [URL]] [--outputs FILE] [--stack NAME]

Commands:
  deactivate <userId>       refuse the user's connections and messages to them; close their sockets
  reactivate <userId>       undo deactivate
  revoke-sessions <userId>  refuse every token issued before now; close their sockets
  revoke-token <jti>        refuse one token until it expires; close the connections opened with it
  failures                  list what delivery gave up on: the entries of the on-failure queue
  redrive                   deliver those entries again from the table (or the stream, for a batch the
                            stream mapping gave up); remove each one only once that succeeded (what
                            failed is tried once more 6 s later)
  reports                   list the reports users filed, newest first (--status open, the default, or
                            resolved), each with what it reported
  resolve <reportId>        mark a report resolved (--note TEXT for the record); resolving again changes
                            nothing

Where:
  --local [URL]      the local stack (default http://localhost:3001); --admin-key KEY or PARLEY_ADMIN_KEY
                     when it listens on the network
  --outputs FILE     a deployed stack: the file \`npx cdk deploy --outputs-file FILE\` wrote (default
                     cdk-outputs.json), with your AWS credentials (the default provider chain)
  --stack NAME       the stack in that file (default: the only one)
  --by NAME          who is asking, for the log (default: your user name @ this host)
  --limit N          failures, redrive: at most N entries (default ${DEFAULT_LIMIT}); reports: at most N
                     reports (default 100)
  --dry-run          redrive: say what would be redelivered; invoke nothing, remove nothing
  --status S         reports: open (default) or resolved
  --note TEXT        resolve: why, for the record (at most 1000 characters)
  --json             failures, redrive, reports, resolve: print JSON (reports: with the copied messages)
  -h, --help         this text
`;

const OPTIONS = {
  local: { type: 'boolean' },
  outputs: { type: 'string' },
  stack: { type: 'string' },
  'admin-key': { type: 'string' },
  by: { type: 'string' },
  limit: { type: 'string' },
  'dry-run': { type: 'boolean' },
  status: { type: 'string' },
  note: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig;

export type Target =
  | { kind: 'local'; url: string; adminKey: string | undefined }
  | { kind: 'aws'; outputsFile: string; stack: string | undefined };

export interface OperationRequest {
  command: Command;
  id: string;
  target: Target;
  by: string;
}

export type Request = OperationRequest | QueueRequest | ReportRequest;

export class AdminUsageError extends Error {}

/** A command that ran but did not do all it was asked (exit 1); `output` is still printed. */
export class AdminIncomplete extends Error {
  readonly output: string;
  constructor(message: string, output: string) {
    super(message);
    this.name = 'AdminIncomplete';
    this.output = output;
  }
}

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
  const isQueueCommand = QUEUE_COMMANDS.includes(command);
  const isReportCommand = REPORT_COMMANDS.includes(command);
  if (!(command in COMMANDS) && !isQueueCommand && !isReportCommand) {
    throw new AdminUsageError(`unknown command "${command}"`);
  }
  if (isQueueCommand && id !== undefined) throw new AdminUsageError(`unexpected argument "${id}"`);
  if (!isReportCommand) {
    for (const option of ['status', 'note'] as const) {
      if (parsed.values[option] !== undefined)
        throw new AdminUsageError(`--${option} is for reports and resolve`);
    }
  }
  if (!isQueueCommand && !isReportCommand) {
    const spec = COMMANDS[command as Command];
    if (id === undefined || id === '')
      throw new AdminUsageError(`missing <${spec.what === 'user' ? 'userId' : 'jti'}>`);
    if (extra !== undefined) throw new AdminUsageError(`unexpected argument "${extra}"`);
    for (const option of ['limit', 'dry-run', 'json'] as const) {
      if (parsed.values[option] !== undefined) {
        throw new AdminUsageError(`--${option} is for failures and redrive`);
      }
    }
  }
  if (command === 'failures' && parsed.values['dry-run'] !== undefined) {
    throw new AdminUsageError('--dry-run is for redrive');
  }
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
  if (isReportCommand) {
    const request = reportRequest(
      command as ReportCommand,
      parsed.positionals.slice(1),
      parsed.values,
      target,
      parsed.values.by ?? `${userInfo().username}@${hostname()}`,
    );
    if (typeof request === 'string') throw new AdminUsageError(request);
    return request;
  }
  if (isQueueCommand) {
    return {
      command: command as QueueCommand,
      target,
      limit: parseLimit(parsed.values.limit),
      dryRun: parsed.values['dry-run'] === true,
      json: parsed.values.json === true,
    };
  }
  return {
    command: command as Command,
    id: id ?? '',
    target,
    by: parsed.values.by ?? `${userInfo().username}@${hostname()}`,
  };
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) {
    throw new AdminUsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return limit;
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

/**
 * Runs the request; resolves with what to print. A `failures` or `redrive` that did not handle every
 * entry rejects with AdminIncomplete, which carries the output.
 */
export async function runAdmin(request: Request, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (isReportRequest(request)) {
    const result = await runReportCommand(request, stackOutputs, env);
    if (!result.ok) throw new Error(result.output);
    return result.output;
  }
  if (isQueueRequest(request)) {
    const result = await runQueueCommand(request, stackOutputs);
    if (!result.ok) {
      throw new AdminIncomplete('some entries were not redelivered: they stay in the queue', result.output);
    }
    return result.output;
  }
  return runOperation(request, env);
}

function isReportRequest(request: Request): request is ReportRequest {
  return REPORT_COMMANDS.includes(request.command);
}

function isQueueRequest(request: Request): request is QueueRequest {
  return QUEUE_COMMANDS.includes(request.command);
}

async function runOperation(request: OperationRequest, env: NodeJS.ProcessEnv): Promise<string> {
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
    if (error instanceof AdminIncomplete) process.stdout.write(`${error.output}\n`);
    process.stderr.write(`admin: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

if (import.meta.main) await main();

/**
 * The command line of every entry point (`npm start`, `npm run token`, `npm run bench`): `--help`
 * prints the usage text and exits 0; an unknown option, a missing value or a bad value prints one
 * line saying what is wrong plus the usage line, and exits 2. Never a stack trace.
 */
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export interface CommandLine<T extends ParseArgsOptionsConfig> {
  /** Short name that starts error lines: `token`. */
  readonly name: string;
  /** How the command is run, for the usage line: `npm run -s token --`. */
  readonly command: string;
  /** The usage line, without `Usage: ` and the command: `<userId> [--name NAME] [--ttl SECONDS]`. */
  readonly usage: string;
  /** What `--help` prints after the usage line: the options, one per line, and anything else. */
  readonly details: string;
  readonly options: T;
  /** How many positional arguments the command takes (default none). */
  readonly positionals?: { readonly min: number; readonly max: number };
}

export type Parsed<T extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: T }>>;

export type ParseOutcome<T extends ParseArgsOptionsConfig> =
  | { readonly kind: 'ok'; readonly values: Parsed<T>['values']; readonly positionals: string[] }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'error'; readonly text: string };

/** A bad value found after parsing: `parseCommandLine`'s callers throw it, `runCommandLine` reports it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Pure: what the command line means, or the text to print for `--help` or a mistake. */
export function parseCommandLine<T extends ParseArgsOptionsConfig>(
  spec: CommandLine<T>,
  argv: readonly string[],
): ParseOutcome<T> {
  if (argv.includes('--help') || argv.includes('-h')) {
    return { kind: 'help', text: `${usageLine(spec)}\n\n${spec.details.replace(/\n*$/, '\n')}` };
  }
  let parsed: { values: Parsed<T>['values']; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: spec.options,
      allowPositionals: (spec.positionals?.max ?? 0) > 0,
      strict: true,
    }) as { values: Parsed<T>['values']; positionals: string[] };
  } catch (error) {
    return { kind: 'error', text: errorText(spec, describeParseError(error)) };
  }
  const { min = 0, max = 0 } = spec.positionals ?? {};
  if (parsed.positionals.length > max) {
    return {
      kind: 'error',
      text: errorText(spec, `unexpected argument "${parsed.positionals[max]}"`),
    };
  }
  if (parsed.positionals.length < min) {
    const wanted = /<[^>]+>/.exec(spec.usage)?.[0] ?? 'argument';
    return { kind: 'error', text: errorText(spec, `missing ${wanted}`) };
  }
  return { kind: 'ok', values: parsed.values, positionals: parsed.positionals };
}

/**
 * Parses `process.argv`, answers `--help` and mistakes (exit 0 / exit 2), and otherwise hands the
 * result to `check`, which may throw `UsageError` for a bad value (also exit 2).
 */
export function runCommandLine<T extends ParseArgsOptionsConfig, R>(
  spec: CommandLine<T>,
  check: (values: Parsed<T>['values'], positionals: string[]) => R,
  argv: readonly string[] = process.argv.slice(2),
): R {
  const outcome = parseCommandLine(spec, argv);
  if (outcome.kind === 'help') {
    process.stdout.write(outcome.text);
    process.exit(0);
  }
  if (outcome.kind === 'error') exitWithUsage(outcome.text);
  try {
    return check(outcome.values, outcome.positionals);
  } catch (error) {
    if (error instanceof UsageError) exitWithUsage(errorText(spec, error.message));
    throw error;
  }
}

export function usageLine(spec: Pick<CommandLine<ParseArgsOptionsConfig>, 'command' | 'usage'>): string {
  return `Usage: ${spec.command} ${spec.usage}`.trimEnd();
}

/** A whole number within bounds, from a flag or else an environment variable, or `fallback`. */
export function wholeNumber(
  label: string,
  raw: string | undefined,
  fallback: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `${label} must be a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min > 0 ? ` of at least ${min}` : ''}, got "${raw}"`,
    );
  }
  return value;
}

function errorText(spec: CommandLine<ParseArgsOptionsConfig>, message: string): string {
  return `${spec.name}: ${message}\n${usageLine(spec)} (--help for more)\n`;
}

function exitWithUsage(text: string): never {
  process.stderr.write(text);
  process.exit(2);
}

/** node:util's messages suggest `--` tricks that confuse under npm; say it plainly instead. */
function describeParseError(error: unknown): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1];
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const option = (quoted ?? '').replace(/ <value>$/, '').replace(/^-\w, /, '');
      return /does not take an argument/.test(message)
        ? `option ${option} takes no value`
        : `option ${option} needs a value`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted === undefined ? '' : `"${quoted}"`}`.trimEnd();
    default:
      return message.split('\n')[0] ?? message;
  }
}

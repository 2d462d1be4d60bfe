/**
 * `npm start`: the whole Parley stack on this machine. Prints where to connect, how to get a token and
 * where pushes show up; stops cleanly (clients see 1001, no JVM left behind) on Ctrl-C or SIGTERM.
 * Also prints one machine-readable line, `PARLEY_LOCAL_READY {json}`, for scripts and tests.
 */

import { RATE_LIMIT_SETTINGS } from '../definitions/rate-limits.ts';
import { runCommandLine, UsageError, wholeNumber } from './cli.ts';
import { JavaMissingError } from './dynamodb-local.ts';
import {
  FAULT_ANSWERS,
  FaultSpecError,
  formatFaultSpec,
  parseFaultSpec,
  randomSeed,
} from './faults/fault-plan.ts';
import { ADMIN_KEY_HEADER, generateAdminKey, isLoopbackHost } from './http/admin-access.ts';
import { localLog } from './log.ts';
import { startLocalStack } from './stack.ts';

const env = process.env;

function rateLimitHelp(): string {
  const { sendPerSecond, sendBurst, typingPerSecond, typingBurst } = RATE_LIMIT_SETTINGS;
  const line = (setting: { flag: string; env: string; default: number }, what: string) =>
    `${`  --${setting.flag} N`.padEnd(25)}${what} (env ${setting.env}, default ${setting.default})`;
  return [
    line(sendPerSecond, 'sendMessage per second and user'),
    line(sendBurst, 'sendMessage at once after a quiet spell'),
    line(typingPerSecond, 'typing per second and user'),
    line(typingBurst, 'typing at once after a quiet spell'),
  ].join('\n');
}

/** The `--faults` lines of `--help`, with each class's answers from the plan's own table. */
function faultHelp(): string {
  const pad = ' '.repeat(25);
  const classes = Object.entries(FAULT_ANSWERS);
  const single = classes.filter(([, answers]) => answers.length === 0).map(([name]) => name);
  return [
    `${'  --faults SPEC'.padEnd(25)}inject faults (env PARLEY_FAULTS, default none; docs/local-stack.md "Fault injection"):`,
    `${pad}class=rate% or class=count (the next n calls), optionally :answer+answer, e.g.`,
    `${pad}dynamodb=10%,post=15%:500+429+410,sns=3:EndpointDisabled,delivery-crash=10%,lose=2%`,
    ...classes.flatMap(([name, answers]) =>
      answers.length > 0 ? [`${pad}${name}: ${answers.join(', ')}`] : [],
    ),
    `${pad}${single.join(', ')}: one kind each`,
  ].join('\n');
}

const options = runCommandLine(
  {
    name: 'npm start',
    command: 'npm start --',
    usage: '[options]',
    details: `  --port N               WebSocket + HTTP port (env PORT, default 3001; 0 picks a free one)
  --host H               interface to listen on (env HOST, default 127.0.0.1; 0.0.0.0 for devices on your LAN)
  --admin-key KEY        key other machines must send to @connections and /_local/ (env PARLEY_ADMIN_KEY;
                         generated and printed when --host is not loopback and none is given)
  --dynamodb-port N      DynamoDB Local port (env DYNAMODB_PORT, default: a free one)
  --persist DIR          keep DynamoDB data in DIR (default: in memory)
  --dynamodb-endpoint U  use the DynamoDB Local already running at U, and leave it running at exit
                         (env PARLEY_DYNAMODB_ENDPOINT; default: start one)
  --table NAME           table to use, created when missing (env PARLEY_TABLE, default parley-local)
  --idle-timeout-ms N    close idle connections after N ms (env IDLE_TIMEOUT_MS, default 600000 as in AWS)
  --max-connection-ms N  close every connection after N ms (env MAX_CONNECTION_MS, default 7200000 as in AWS)
${rateLimitHelp()}
${faultHelp()}
  --fault-seed N         seed of the fault draws, to repeat a run (env PARLEY_FAULT_SEED, default random)
  -h, --help             this text

Environment also read: JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, LOG_LEVEL.
`,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'admin-key': { type: 'string' },
      'dynamodb-port': { type: 'string' },
      persist: { type: 'string' },
      'dynamodb-endpoint': { type: 'string' },
      table: { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'max-connection-ms': { type: 'string' },
      faults: { type: 'string' },
      'fault-seed': { type: 'string' },
      ...Object.fromEntries(Object.values(RATE_LIMIT_SETTINGS).map(({ flag }) => [flag, { type: 'string' }])),
    },
  },
  (flags) => {
    const host = flags.host ?? (env.HOST || '127.0.0.1');
    if (host.trim() === '') throw new UsageError('--host must name an interface, got ""');
    const givenKey = flags['admin-key'] ?? (env.PARLEY_ADMIN_KEY || undefined);
    if (givenKey !== undefined && !/^[\x21-\x7e]{16,}$/.test(givenKey)) {
      throw new UsageError('--admin-key must be at least 16 printable characters without spaces');
    }
    if (flags.persist === '') throw new UsageError('--persist needs a folder');
    const dynamoDbEndpoint = flags['dynamodb-endpoint'] ?? (env.PARLEY_DYNAMODB_ENDPOINT || undefined);
    if (dynamoDbEndpoint !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(dynamoDbEndpoint)) {
      throw new UsageError(
        `--dynamodb-endpoint must be a URL such as http://127.0.0.1:8000, got "${dynamoDbEndpoint}"`,
      );
    }
    if (
      dynamoDbEndpoint !== undefined &&
      (flags.persist !== undefined || flags['dynamodb-port'] !== undefined)
    ) {
      throw new UsageError(
        '--dynamodb-endpoint names a running DynamoDB Local: --persist and --dynamodb-port are for one the stack starts',
      );
    }
    const tableName = flags.table ?? (env.PARLEY_TABLE || undefined);
    // DynamoDB's own rule for table names.
    if (tableName !== undefined && !/^[a-zA-Z0-9_.-]{3,255}$/.test(tableName)) {
      throw new UsageError(`--table must be 3 to 255 letters, digits, '_', '-' or '.', got "${tableName}"`);
    }
    // The handlers read their limits from the environment when they load, as in Lambda.
    for (const { flag, env: name, default: fallback } of Object.values(RATE_LIMIT_SETTINGS)) {
      const value = (flags as Record<string, string | undefined>)[flag] ?? env[name];
      env[name] = String(wholeNumber(`--${flag} (${name})`, value, fallback, { min: 1, max: 1000 }));
    }
    let faults: ReturnType<typeof parseFaultSpec>;
    try {
      faults = parseFaultSpec(flags.faults ?? env.PARLEY_FAULTS ?? '');
    } catch (error) {
      if (error instanceof FaultSpecError) throw new UsageError(`--faults (PARLEY_FAULTS): ${error.message}`);
      throw error;
    }
    return {
      faults,
      faultSeed: wholeNumber(
        '--fault-seed (PARLEY_FAULT_SEED)',
        flags['fault-seed'] ?? env.PARLEY_FAULT_SEED,
        randomSeed(),
        { max: 2 ** 32 - 1 },
      ),
      port: wholeNumber('--port (PORT)', flags.port ?? env.PORT, 3001, { max: 65_535 }),
      host,
      givenKey,
      dynamoDbPort: wholeNumber(
        '--dynamodb-port (DYNAMODB_PORT)',
        flags['dynamodb-port'] ?? env.DYNAMODB_PORT,
        0,
        {
          max: 65_535,
        },
      ),
      persistDir: flags.persist,
      dynamoDbEndpoint,
      tableName,
      idleTimeoutMs: wholeNumber(
        '--idle-timeout-ms (IDLE_TIMEOUT_MS)',
        flags['idle-timeout-ms'] ?? env.IDLE_TIMEOUT_MS,
        10 * 60_000,
        {
          min: 1,
        },
      ),
      maxConnectionMs: wholeNumber(
        '--max-connection-ms (MAX_CONNECTION_MS)',
        flags['max-connection-ms'] ?? env.MAX_CONNECTION_MS,
        2 * 60 * 60_000,
        { min: 1 },
      ),
    };
  },
);

// On the network, the unauthenticated management API and /_local/ endpoints must not be open to all.
const exposed = !isLoopbackHost(options.host);
const adminKey = options.givenKey ?? (exposed ? generateAdminKey() : undefined);
if (exposed) {
  process.stderr.write(`
  WARNING: listening on ${options.host}: this stack is reachable from your network.
  WebSockets still need a valid JWT. The management API (@connections) and the /_local/ endpoints
  answer other machines only with the admin key: Authorization: Bearer <key> or ${ADMIN_KEY_HEADER}: <key>.
  Admin key: ${adminKey}${options.givenKey === undefined ? ' (generated for this run; choose one with --admin-key or PARLEY_ADMIN_KEY)' : ''}

`);
}

const started = performance.now();
let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    port: options.port,
    host: options.host,
    dynamoDbPort: options.dynamoDbPort,
    persistDir: options.persistDir,
    dynamoDbEndpoint: options.dynamoDbEndpoint,
    tableName: options.tableName,
    idleTimeoutMs: options.idleTimeoutMs,
    maxConnectionMs: options.maxConnectionMs,
    adminKey,
    faults: options.faults,
    faultSeed: options.faultSeed,
  });
} catch (error) {
  process.stderr.write(`npm start: ${startFailure(error)}\n`);
  process.exit(1);
}
const startupMs = Math.round(performance.now() - started);

process.stdout.write(`
  Parley local stack ready in ${(startupMs / 1000).toFixed(1)} s

  Demo page      ${stack.httpUrl}/ (open it in two windows, log in as two users)
  WebSocket      ${stack.url}/?token=<JWT>[&deviceId=<id>]
  Get a token    npm run -s token -- alice [--name "Alice"] [--ttl 3600]
  Pushes         curl ${stack.httpUrl}/_local/pushes
  Management API ${stack.httpUrl}/@connections/{connectionId}
  DynamoDB Local ${stack.dynamoDbEndpoint} (table ${stack.tableName}${options.dynamoDbEndpoint ? ', already running' : options.persistDir ? `, data in ${options.persistDir}` : ', in memory'})
${exposed ? `  Listening on   ${options.host}: from other machines @connections and /_local/ need the admin key\n` : ''}${faultsLine()}
  Ctrl-C stops everything.

`);
process.stdout.write(
  `PARLEY_LOCAL_READY ${JSON.stringify({ url: stack.url, httpUrl: stack.httpUrl, port: stack.port, dynamoDbEndpoint: stack.dynamoDbEndpoint, tableName: stack.tableName, startupMs })}\n`,
);

/** Faults given at start are on from the first call: say so where nobody can miss it. */
function faultsLine(): string {
  const spec = formatFaultSpec(options.faults);
  if (spec === '') return '';
  return `  Faults         ON: ${spec} (seed ${options.faultSeed}; --fault-seed ${options.faultSeed} repeats the draws)
                 see or change them: curl ${stack.httpUrl}/_local/faults\n`;
}

/** One line that says what went wrong and what to do; a stack trace only for the unexpected. */
function startFailure(error: unknown): string {
  if (error instanceof JavaMissingError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return `port ${options.port} is already in use: stop the other process or choose another with --port 3002 (or PORT=3002)`;
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return `cannot listen on ${options.host}: not an address of this machine (try 127.0.0.1 or 0.0.0.0)`;
  }
  return `the local stack could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  localLog.info(`${signal}: closing connections, stopping the stream poller and DynamoDB Local`);
  await stack.stop();
  localLog.info('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

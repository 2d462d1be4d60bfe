/**
 * `npm start`: the whole Parley stack on this machine. Prints where to connect, how to get a token and
 * where pushes show up; stops cleanly (clients see 1001, no JVM left behind) on Ctrl-C or SIGTERM.
 * Also prints one machine-readable line, `PARLEY_LOCAL_READY {json}`, for scripts and tests.
 */
import { parseArgs } from 'node:util';
import { JavaMissingError } from './dynamodb-local.ts';
import { localLog } from './log.ts';
import { startLocalStack } from './stack.ts';

const { values: flags } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'dynamodb-port': { type: 'string' },
    persist: { type: 'string' },
    'idle-timeout-ms': { type: 'string' },
    'max-connection-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (flags.help) {
  process.stdout.write(`Usage: npm start -- [options]

  --port N               WebSocket + HTTP port (env PORT, default 3001; 0 picks a free one)
  --host H               interface to listen on (env HOST, default 127.0.0.1; 0.0.0.0 for devices on your LAN)
  --dynamodb-port N      DynamoDB Local port (env DYNAMODB_PORT, default: a free one)
  --persist DIR          keep DynamoDB data in DIR (default: in memory)
  --idle-timeout-ms N    close idle connections after N ms (env IDLE_TIMEOUT_MS, default 600000 as in AWS)
  --max-connection-ms N  close every connection after N ms (env MAX_CONNECTION_MS, default 7200000 as in AWS)
`);
  process.exit(0);
}

function numberOption(flag: string | undefined, variable: string, fallback: number): number {
  const raw = flag ?? process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(
      `${variable.toLowerCase().replaceAll('_', '-')} must be a whole number, got "${raw}"\n`,
    );
    process.exit(2);
  }
  return value;
}

const started = performance.now();
let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({
    port: numberOption(flags.port, 'PORT', 3001),
    host: flags.host ?? process.env.HOST ?? '127.0.0.1',
    dynamoDbPort: numberOption(flags['dynamodb-port'], 'DYNAMODB_PORT', 0),
    persistDir: flags.persist,
    idleTimeoutMs: numberOption(flags['idle-timeout-ms'], 'IDLE_TIMEOUT_MS', 10 * 60_000),
    maxConnectionMs: numberOption(flags['max-connection-ms'], 'MAX_CONNECTION_MS', 2 * 60 * 60_000),
  });
} catch (error) {
  if (error instanceof JavaMissingError) {
    process.stderr.write(
      `\nParley's local stack runs AWS's DynamoDB Local, which needs Java.\n${error.message}\n`,
    );
  } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(
      `\nThe port is already in use: stop the other process or choose one with PORT=3002 npm start\n`,
    );
  } else {
    process.stderr.write(
      `\nThe local stack could not start: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
  }
  process.exit(1);
}
const startupMs = Math.round(performance.now() - started);

process.stdout.write(`
  Parley local stack ready in ${(startupMs / 1000).toFixed(1)} s

  WebSocket      ${stack.url}/?token=<JWT>[&deviceId=<id>]
  Get a token    npm run -s token -- alice [--name "Alice"] [--ttl 3600]
  Pushes         curl ${stack.httpUrl}/_local/pushes
  Management API ${stack.httpUrl}/@connections/{connectionId}
  DynamoDB Local ${stack.dynamoDbEndpoint} (table ${stack.tableName}${flags.persist ? `, data in ${flags.persist}` : ', in memory'})

  Ctrl-C stops everything.

`);
process.stdout.write(
  `PARLEY_LOCAL_READY ${JSON.stringify({ url: stack.url, httpUrl: stack.httpUrl, port: stack.port, dynamoDbEndpoint: stack.dynamoDbEndpoint, tableName: stack.tableName, startupMs })}\n`,
);

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

/**
 * `npm start`: the whole Parley stack on this machine. Prints where to connect, how to get a token and
 * where pushes show up; stops cleanly (clients see 1001, no JVM left behind) on Ctrl-C or SIGTERM.
 * Also prints one machine-readable line, `PARLEY_LOCAL_READY {json}`, for scripts and tests.
 */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONTACT_POLICIES, CONTACT_POLICY_SETTING, isContactPolicy } from '../definitions/contact-policy.ts';
import { EVENT_CONTENT_SETTING, parseEventContent } from '../definitions/events.ts';
import { RATE_LIMIT_SETTINGS, type RateLimitSetting, settingRange } from '../definitions/rate-limits.ts';
import {
  SEND_HOOK_DEFAULTS,
  SEND_HOOK_ENV,
  SEND_HOOK_FAILURE_POLICIES,
  SEND_HOOK_TIMEOUT_BOUNDS,
  type SendHookFailurePolicy,
} from '../definitions/send-hook.ts';
import { LOCAL_SERVER_CREDENTIALS, SERVER_API } from '../definitions/server-api.ts';
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
import { resolveLocalServerCredentials } from './server-api/sigv4-verifier.ts';
import { startLocalStack } from './stack.ts';

const env = process.env;

/** What each limit's flag sets, for `--help` (docs/protocol.md "Rate limits" has the table). */
const RATE_LIMIT_HELP = {
  sendPerSecond: 'sendMessage per second and user',
  sendBurst: 'sendMessage at once after a quiet spell',
  typingPerSecond: 'typing per second and user',
  typingBurst: 'typing at once after a quiet spell',
  readPerMinute: 'markRead per minute and user',
  readBurst: 'markRead at once',
  changePerMinute: 'editMessage, deleteMessage, react per minute (each)',
  changeBurst: 'each of those at once',
  conversationPerMinute: 'createConversation per minute',
  conversationBurst: 'createConversation at once',
  membershipPerMinute: 'leaveConversation, block, acceptRequest, setNotifications per minute (each)',
  membershipBurst: 'each of those at once',
  reportPerMinute: 'report per minute',
  reportBurst: 'report at once',
  uploadPerMinute: 'requestUpload per minute',
  uploadBurst: 'requestUpload at once',
  devicePerMinute: 'registerDevice, unregisterDevice per minute (each)',
  deviceBurst: 'each of those at once',
  uploadMiBPerDay: 'MiB of uploads per user and UTC day',
} satisfies Record<RateLimitSetting, string>;

function rateLimitHelp(): string {
  return Object.entries(RATE_LIMIT_HELP)
    .map(([setting, what]) => {
      const { flag, env: name, default: fallback } = RATE_LIMIT_SETTINGS[setting as RateLimitSetting];
      const line = `${`  --${flag} N`.padEnd(25)}${what}`;
      const where = `(env ${name}, default ${fallback})`;
      // Wrapped like the other options' lines, at about 110 columns.
      return line.length + where.length < 110 ? `${line} ${where}` : `${line}\n${' '.repeat(25)}${where}`;
    })
    .join('\n');
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
  --contact-policy P     who may start a conversation: open (anyone) or requests (a first message is a
                         request until answered or accepted; env ${CONTACT_POLICY_SETTING.env}, default ${CONTACT_POLICY_SETTING.default})
  --event-content        events on the local bus (GET /_local/events) carry message content
                         (env ${EVENT_CONTENT_SETTING.env}=true|false, default false; docs/server-api.md "Events")
${rateLimitHelp()}
${faultHelp()}
  --fault-seed N         seed of the fault draws, to repeat a run (env PARLEY_FAULT_SEED, default random)
  --send-hook PATH       run this module's \`handler\` in process as the send hook, before every sendMessage
                         and editMessage is stored (env PARLEY_SEND_HOOK, default none; docs/local-stack.md
                         "Send hook"), e.g. examples/send-hook/hook.ts
  --send-hook-timeout-ms N  no answer by then is a failed hook (env ${SEND_HOOK_ENV.timeoutMs}, default ${SEND_HOOK_DEFAULTS.timeoutMs})
  --send-hook-on-failure P  refuse (answer internal) or allow (store unchanged) when the hook fails
                         (env ${SEND_HOOK_ENV.onFailure}, default ${SEND_HOOK_DEFAULTS.onFailure})
  -h, --help             this text

Environment also read: JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, LOG_LEVEL, and the server API's SigV4
credentials ${LOCAL_SERVER_CREDENTIALS.env.accessKeyId} / ${LOCAL_SERVER_CREDENTIALS.env.secretAccessKey} (default ${LOCAL_SERVER_CREDENTIALS.accessKeyId} /
${LOCAL_SERVER_CREDENTIALS.secretAccessKey}).
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
      'send-hook': { type: 'string' },
      'send-hook-timeout-ms': { type: 'string' },
      'send-hook-on-failure': { type: 'string' },
      'contact-policy': { type: 'string' },
      'event-content': { type: 'boolean' },
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
    // The handlers read their policy and limits from the environment when they load, as in Lambda.
    const contactPolicy =
      flags['contact-policy'] ?? (env[CONTACT_POLICY_SETTING.env] || CONTACT_POLICY_SETTING.default);
    if (!isContactPolicy(contactPolicy)) {
      throw new UsageError(
        `--contact-policy (${CONTACT_POLICY_SETTING.env}) must be ${CONTACT_POLICIES.join(' or ')}, got "${contactPolicy}"`,
      );
    }
    env[CONTACT_POLICY_SETTING.env] = contactPolicy;
    for (const setting of Object.values(RATE_LIMIT_SETTINGS)) {
      const { flag, env: name, default: fallback } = setting;
      const value = (flags as Record<string, string | undefined>)[flag] ?? env[name];
      env[name] = String(wholeNumber(`--${flag} (${name})`, value, fallback, settingRange(setting)));
    }
    let faults: ReturnType<typeof parseFaultSpec>;
    try {
      faults = parseFaultSpec(flags.faults ?? env.PARLEY_FAULTS ?? '');
    } catch (error) {
      if (error instanceof FaultSpecError) throw new UsageError(`--faults (PARLEY_FAULTS): ${error.message}`);
      throw error;
    }
    let serverApiCredentials: ReturnType<typeof resolveLocalServerCredentials>;
    try {
      serverApiCredentials = resolveLocalServerCredentials(env);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const eventContentEnv = env[EVENT_CONTENT_SETTING.env] || undefined;
    const eventContent =
      flags['event-content'] === true ||
      (eventContentEnv === undefined ? EVENT_CONTENT_SETTING.default : parseEventContent(eventContentEnv));
    if (eventContent === undefined) {
      throw new UsageError(`${EVENT_CONTENT_SETTING.env} must be true or false, got "${eventContentEnv}"`);
    }
    return {
      faults,
      serverApiCredentials,
      eventContent,
      sendHook: sendHookOptions(flags),
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
  Admin key: ${adminKey}${options.givenKey === undefined ? ' (generated for this run; choose one with --admin-key or PARLEY_ADMIN_KEY)' : ''}${
    options.serverApiCredentials.secretAccessKey === LOCAL_SERVER_CREDENTIALS.secretAccessKey
      ? `
  The server API (${SERVER_API.basePath}/) checks SigV4 signatures against the documented local credentials, which
  anyone can use: set ${LOCAL_SERVER_CREDENTIALS.env.accessKeyId} and ${LOCAL_SERVER_CREDENTIALS.env.secretAccessKey} to keep it yours.`
      : ''
  }

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
    serverApiCredentials: options.serverApiCredentials,
    eventContent: options.eventContent,
    ...(options.sendHook !== undefined && { sendHook: options.sendHook }),
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
  Events         curl ${stack.httpUrl}/_local/events (${options.eventContent ? 'with' : 'without'} message content)
  Management API ${stack.httpUrl}/@connections/{connectionId}
${serverApiLine()}
  DynamoDB Local ${stack.dynamoDbEndpoint} (table ${stack.tableName}${options.dynamoDbEndpoint ? ', already running' : options.persistDir ? `, data in ${options.persistDir}` : ', in memory'})
${sendHookLine()}${contactPolicyLine()}${exposed ? `  Listening on   ${options.host}: from other machines @connections and /_local/ need the admin key\n` : ''}${faultsLine()}
  Ctrl-C stops everything.

`);
process.stdout.write(
  `PARLEY_LOCAL_READY ${JSON.stringify({ url: stack.url, httpUrl: stack.httpUrl, port: stack.port, dynamoDbEndpoint: stack.dynamoDbEndpoint, tableName: stack.tableName, startupMs })}\n`,
);

/**
 * `--send-hook PATH` (or `PARLEY_SEND_HOOK`) with its timeout and failure policy, within the bounds the
 * deployed stack keeps (definitions/send-hook.ts); undefined without a hook.
 */
function sendHookOptions(flags: {
  'send-hook'?: string | undefined;
  'send-hook-timeout-ms'?: string | undefined;
  'send-hook-on-failure'?: string | undefined;
}) {
  const modulePath = flags['send-hook'] ?? (env.PARLEY_SEND_HOOK || undefined);
  if (modulePath === undefined) {
    if (flags['send-hook-timeout-ms'] !== undefined || flags['send-hook-on-failure'] !== undefined) {
      throw new UsageError('--send-hook-timeout-ms and --send-hook-on-failure need --send-hook');
    }
    return undefined;
  }
  if (modulePath.trim() === '') throw new UsageError('--send-hook needs the path of a module');
  if (!existsSync(resolve(modulePath))) {
    throw new UsageError(`--send-hook: ${resolve(modulePath)} does not exist`);
  }
  const timeoutMs = wholeNumber(
    `--send-hook-timeout-ms (${SEND_HOOK_ENV.timeoutMs})`,
    flags['send-hook-timeout-ms'] ?? env[SEND_HOOK_ENV.timeoutMs],
    SEND_HOOK_DEFAULTS.timeoutMs,
    SEND_HOOK_TIMEOUT_BOUNDS,
  );
  const onFailure =
    flags['send-hook-on-failure'] ?? (env[SEND_HOOK_ENV.onFailure] || SEND_HOOK_DEFAULTS.onFailure);
  if (!(SEND_HOOK_FAILURE_POLICIES as readonly string[]).includes(onFailure)) {
    throw new UsageError(
      `--send-hook-on-failure (${SEND_HOOK_ENV.onFailure}) must be ${SEND_HOOK_FAILURE_POLICIES.join(' or ')}, got "${onFailure}"`,
    );
  }
  return { modulePath, timeoutMs, onFailure: onFailure as SendHookFailurePolicy };
}

/**
 * Where the server API answers and what to sign with (integration.md: the banner prints them). The
 * secret only when it is the documented default: one set in the environment stays off the screen.
 */
function serverApiLine(): string {
  const { accessKeyId, secretAccessKey } = options.serverApiCredentials;
  const secret =
    secretAccessKey === LOCAL_SERVER_CREDENTIALS.secretAccessKey
      ? `secret ${secretAccessKey}`
      : `secret from ${LOCAL_SERVER_CREDENTIALS.env.secretAccessKey}`;
  return `  Server API     ${stack.httpUrl}${SERVER_API.basePath}/ (SigV4: key ${accessKeyId}, ${secret}, region ${SERVER_API.localRegion})`;
}

function sendHookLine(): string {
  const hook = options.sendHook;
  if (hook === undefined) return '';
  return `  Send hook      ${hook.modulePath} (timeout ${hook.timeoutMs} ms, on failure ${hook.onFailure})\n`;
}

function contactPolicyLine(): string {
  const policy = env[CONTACT_POLICY_SETTING.env];
  if (policy === CONTACT_POLICY_SETTING.default) return '';
  return `  Contacts       ${policy}: a first message is a request until answered or accepted\n`;
}

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

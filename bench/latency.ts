/**
 * Local end-to-end latency: the local stack (`node local/start.ts`, started as the e2e tests start it)
 * with 200 WebSocket clients, 100 pairs of users, each pair exchanging messages in turn at a steady
 * offered rate: latency at a stated load, not the length of the queue a burst builds (on 2 cores the
 * local stack saturates near 60 messages/s). Each message is timed from just before `send()` to the
 * arrival of its `message` frame at the recipient, and every message must arrive exactly once.
 */
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { SignJWT } from 'jose';
import { type LocalStackProcess, startLocalStackProcess } from '../local/harness/local-stack-process.ts';
import { type Client, connect } from '../local/harness/ws-client.ts';
import { type Summary, summarize } from './stats.ts';
import { heading, textTable } from './text-table.ts';

export interface LatencyOptions {
  readonly pairs: number;
  /** Timed messages each user sends, after one untimed warm-up message each. */
  readonly messagesPerSender: number;
  /**
   * Timed messages per second across all pairs, each pair's turns spread evenly over time; a reply
   * never leaves before the message it answers has arrived.
   */
  readonly offeredRate: number;
  readonly timeLimitMs: number;
}

/**
 * 25 messages/s: well under the ~58 messages/s the local stack sustains on 2 cores with every pair
 * replying at once (DynamoDB Local's JVM is most of the CPU); at 40/s the p95 already swung between
 * 110 and 500 ms from one run to the next.
 */
export const LATENCY_DEFAULTS: LatencyOptions = {
  pairs: 100,
  messagesPerSender: 10,
  offeredRate: 25,
  timeLimitMs: 180_000,
};

export interface LatencyResult {
  readonly clients: number;
  /** Every message of the run, warm-up included. */
  readonly expected: number;
  readonly sent: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly errorFrames: number;
  /** `message` frames that reached a client other than the recipient. */
  readonly misrouted: number;
  /** The timed messages only. */
  readonly latency: Summary | undefined;
  readonly messagesPerSecond: number;
  readonly stoppedCleanly: boolean;
}

interface Outgoing {
  readonly sentAt: number;
  readonly timed: boolean;
  arrivals: number;
  latencyMs?: number;
}

const CONNECT_CONCURRENCY = 20;
/**
 * Untimed first turns of each pair (one message each way, as fast as they go): they create the direct
 * conversations and warm the stack up; the timed turns start once every pair is through them.
 */
const WARM_UP_PER_PAIR = 2;
/** Time left for late duplicates (a retried stream batch) once everything has arrived. */
const DUPLICATE_GRACE_MS = 1_000;

/** The local stack as a process, signing with a fresh secret the benchmark's tokens use (clientUrl). */
export async function startBenchStack(
  env: Record<string, string> = {},
): Promise<{ stack: LocalStackProcess; secret: string }> {
  const secret = `bench-${randomUUID()}`;
  // Only this secret: whatever JWT settings the caller's shell holds would make the tokens invalid.
  const stack = await startLocalStackProcess({
    JWT_SECRET: secret,
    JWT_SECRET_ID: '',
    JWKS_URL: '',
    JWT_ISSUER: '',
    JWT_AUDIENCE: '',
    ...env,
  });
  return { stack, secret };
}

export async function measureLatency(options: LatencyOptions = LATENCY_DEFAULTS): Promise<LatencyResult> {
  const { stack, secret } = await startBenchStack();
  // Every socket that opened, for the cleanup, even when a later one in its batch failed.
  const opened: Client[] = [];
  let exchanged: Omit<LatencyResult, 'stoppedCleanly'>;
  let stoppedCleanly = false;
  try {
    const users = Array.from(
      { length: options.pairs * 2 },
      (_, i) => `bench-${i % 2 ? 'b' : 'a'}${Math.floor(i / 2)}`,
    );
    const clients: Client[] = [];
    for (let i = 0; i < users.length; i += CONNECT_CONCURRENCY) {
      const batch = users.slice(i, i + CONNECT_CONCURRENCY);
      const connecting = batch.map(async (user) => {
        const client = await connect(await clientUrl(stack, user, secret));
        opened.push(client);
        return client;
      });
      clients.push(...(await Promise.all(connecting)));
    }
    exchanged = await exchange(users, clients, options);
  } catch (error) {
    process.stderr.write(
      `local stack output (last lines):\n${stack.output().split('\n').slice(-30).join('\n')}\n`,
    );
    throw error;
  } finally {
    for (const client of opened) client.socket.terminate();
    stoppedCleanly = await stopAndCheck(stack);
  }
  return { ...exchanged, stoppedCleanly };
}

export async function clientUrl(stack: LocalStackProcess, userId: string, secret: string): Promise<string> {
  const token = await new SignJWT({ name: userId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('1h')
    .setJti(randomUUID())
    .sign(new TextEncoder().encode(secret));
  return `${stack.url}/?token=${token}&deviceId=${userId}-device`;
}

async function exchange(
  users: readonly string[],
  clients: readonly Client[],
  options: LatencyOptions,
): Promise<Omit<LatencyResult, 'stoppedCleanly'>> {
  const perPair = WARM_UP_PER_PAIR + 2 * options.messagesPerSender;
  const expected = options.pairs * perPair;
  const outgoing = new Map<string, Outgoing>();
  let delivered = 0;
  let duplicated = 0;
  let errorFrames = 0;
  let misrouted = 0;
  let firstTimedSend = Number.POSITIVE_INFINITY;
  let lastTimedArrival = 0;
  let warmedUp = 0;
  let timedStart = 0;
  const timers = new Set<NodeJS.Timeout>();
  let allArrived: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    allArrived = resolve;
  });

  // Message k of pair p goes from the pair's first user on even k, from the second on odd k.
  const recipientOf = (pair: number, k: number) => 2 * pair + 1 - (k % 2);
  const send = (pair: number, k: number) => {
    const from = 2 * pair + (k % 2);
    const to = recipientOf(pair, k);
    const clientMessageId = `p${pair}-m${k}`;
    const frame = JSON.stringify({
      action: 'sendMessage',
      to: users[to],
      clientMessageId,
      content: `message ${k} of pair ${pair}`,
    });
    const timed = k >= WARM_UP_PER_PAIR;
    const sentAt = performance.now();
    if (timed) firstTimedSend = Math.min(firstTimedSend, sentAt);
    outgoing.set(clientMessageId, { sentAt, timed, arrivals: 0 });
    clients[from]?.socket.send(frame);
  };

  const sendWhenDue = (pair: number, k: number) => {
    const due = timedStart + (((k - WARM_UP_PER_PAIR) * options.pairs + pair) / options.offeredRate) * 1000;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        send(pair, k);
      },
      Math.max(0, due - performance.now()),
    );
    timers.add(timer);
  };
  const startTimedTurns = () => {
    timedStart = performance.now();
    for (let pair = 0; pair < options.pairs; pair++) sendWhenDue(pair, WARM_UP_PER_PAIR);
  };

  clients.forEach((client, index) => {
    client.socket.on('message', (data) => {
      const arrivedAt = performance.now();
      const frame = JSON.parse(data.toString()) as Record<string, unknown>;
      if (frame.type === 'error') errorFrames++;
      if (frame.type !== 'message') return;
      const id = String(frame.clientMessageId);
      const message = outgoing.get(id);
      const [, pair = '', k = ''] = /^p(\d+)-m(\d+)$/.exec(id) ?? [];
      if (message === undefined || index !== recipientOf(Number(pair), Number(k))) {
        misrouted++;
        return;
      }
      message.arrivals++;
      if (message.arrivals > 1) {
        duplicated++;
        return;
      }
      delivered++;
      if (message.timed) {
        message.latencyMs = arrivedAt - message.sentAt;
        lastTimedArrival = Math.max(lastTimedArrival, arrivedAt);
      }
      const next = Number(k) + 1;
      if (next < WARM_UP_PER_PAIR) send(Number(pair), next);
      else if (next === WARM_UP_PER_PAIR) {
        warmedUp++;
        if (warmedUp === options.pairs) startTimedTurns();
      } else if (next < perPair) sendWhenDue(Number(pair), next);
      if (delivered === expected) allArrived();
    });
  });

  for (let pair = 0; pair < options.pairs; pair++) send(pair, 0);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    done,
    new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeLimitMs))),
  ]);
  clearTimeout(timer);
  for (const pending of timers) clearTimeout(pending);
  await new Promise((resolve) => setTimeout(resolve, DUPLICATE_GRACE_MS));

  const latencies = [...outgoing.values()].flatMap((m) => (m.latencyMs === undefined ? [] : [m.latencyMs]));
  const seconds = (lastTimedArrival - firstTimedSend) / 1000;
  return {
    clients: clients.length,
    expected,
    sent: outgoing.size,
    delivered,
    lost: outgoing.size - delivered,
    duplicated,
    errorFrames,
    misrouted,
    latency: latencies.length > 0 ? summarize(latencies) : undefined,
    messagesPerSecond: seconds > 0 ? latencies.length / seconds : 0,
  };
}

/** SIGTERM as Ctrl-C would, then checks that neither the gateway nor DynamoDB Local's JVM is left. */
export async function stopAndCheck(stack: LocalStackProcess): Promise<boolean> {
  const exitCode = await stack.stop();
  const dynamoPort = Number(new URL(stack.dynamoDbEndpoint).port);
  const gatewayPort = Number(new URL(stack.httpUrl).port);
  const [dynamoClosed, gatewayClosed, leftover] = await Promise.all([
    portClosed(dynamoPort),
    portClosed(gatewayPort),
    dynamoDbLocalProcesses(dynamoPort),
  ]);
  return exitCode === 0 && dynamoClosed && gatewayClosed && leftover.length === 0;
}

function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Linux: DynamoDB Local JVMs still running on `port` (none expected once the stack has stopped). */
export async function dynamoDbLocalProcesses(port: number): Promise<string[]> {
  const pids = (await readdir('/proc').catch(() => [])).filter((name) => /^\d+$/.test(name));
  const found: string[] = [];
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const args = cmdline.split('\0');
    if (args.some((arg) => arg.includes('DynamoDBLocal')) && args.includes(String(port))) found.push(pid);
  }
  return found;
}

export function printLatency(result: LatencyResult, options: LatencyOptions = LATENCY_DEFAULTS): boolean {
  const ms = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
  const l = result.latency;
  const table = textTable(
    ['timed messages', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'mean ms', 'messages/s'],
    [
      [
        String(l?.count ?? 0),
        ms(l?.p50),
        ms(l?.p95),
        ms(l?.p99),
        ms(l?.max),
        ms(l?.mean),
        result.messagesPerSecond.toFixed(0),
      ],
    ],
    ['right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
  const exact =
    result.sent === result.expected &&
    result.lost === 0 &&
    result.duplicated === 0 &&
    result.misrouted === 0 &&
    result.errorFrames === 0;
  process.stdout.write(
    `${heading('Local end-to-end latency')}` +
      `node local/start.ts on 127.0.0.1, ${result.clients} WebSocket clients (${options.pairs} pairs, one connection per user),\n` +
      `each pair taking turns: ${options.messagesPerSender} timed messages per user after one untimed warm-up message each,\n` +
      `the timed turns offered at ${options.offeredRate} messages/s in all (a reply never leaves before the message it answers).\n` +
      'Timed from just before send() of the sendMessage frame to the message frame arriving at the recipient.\n\n' +
      `${table}\n\n` +
      `  messages: expected ${result.expected}, sent ${result.sent}, delivered ${result.delivered}, ` +
      `lost ${result.lost}, duplicated ${result.duplicated}, misrouted ${result.misrouted}, error frames ${result.errorFrames}` +
      `  ${exact ? 'PASS' : 'FAIL'}\n` +
      `  local stack stopped, DynamoDB Local's JVM and both ports gone: ${result.stoppedCleanly ? 'yes' : 'NO'}\n`,
  );
  return exact && result.stoppedCleanly;
}

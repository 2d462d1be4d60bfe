/**
 * `npm run bench -- load`: many connections held at once on the local stack, each user sending to its
 * partner at a steady rate on its own schedule (open loop: nobody waits for anybody), for a fixed time.
 * Counts every message (acked, delivered, lost, duplicated), times each from just before its send to
 * its arrival at the recipient, and reads the peak memory (VmHWM) of the gateway's Node.js process and
 * of DynamoDB Local's JVM. A benchmark, not a test: it reports, it does not gate.
 */
import { readFile } from 'node:fs/promises';
import type WebSocket from 'ws';
import type { LocalStackProcess } from '../local/harness/local-stack-process.ts';
import { type Client, connect } from '../local/harness/ws-client.ts';
import { clientUrl, dynamoDbLocalProcesses, startBenchStack, stopAndCheck } from './latency.ts';
import { type Summary, summarize } from './stats.ts';
import { heading, textTable } from './text-table.ts';

export interface LoadOptions {
  /** Connected users, in pairs: each writes only to its partner. */
  readonly users: number;
  /** Messages per second offered by all users together, each user at users/rate-second intervals. */
  readonly offeredRate: number;
  readonly durationMs: number;
}

export const LOAD_DEFAULTS: LoadOptions = { users: 1000, offeredRate: 30, durationMs: 60_000 };

export interface LoadResult {
  readonly connectionsHeld: number;
  readonly connectMs: number;
  /** Each pair's first message (which creates its direct conversation), untimed, before the run. */
  readonly warmUpMs: number;
  readonly sent: number;
  readonly acked: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly errorFrames: number;
  readonly latency: Summary | undefined;
  /** From just before the send to its `ack`: the send path alone, without the stream and delivery. */
  readonly ackLatency: Summary | undefined;
  readonly throughputPerS: number;
  readonly peakMemoryMb: { readonly gateway: number; readonly dynamoDbLocal: number };
  readonly stoppedCleanly: boolean;
}

const CONNECT_CONCURRENCY = 25;
const WARM_UP_CONCURRENCY = 25;
/** Time given to the last messages to arrive (and to late duplicates) once the sending stops. */
const DRAIN_LIMIT_MS = 60_000;
const DUPLICATE_GRACE_MS = 2_000;

interface Outgoing {
  readonly sentAt: number;
  readonly recipient: number;
  acked: boolean;
  arrivals: number;
}

export async function measureLoad(options: LoadOptions = LOAD_DEFAULTS): Promise<LoadResult> {
  const { stack, secret } = await startBenchStack({ LOG_LEVEL: 'error' });
  const clients: Client[] = [];
  let measured: Omit<LoadResult, 'stoppedCleanly'>;
  try {
    const users = Array.from({ length: options.users }, (_, i) => `load-${i}`);
    const connectStarted = performance.now();
    await connectAll(stack, secret, users, clients);
    const connectMs = performance.now() - connectStarted;
    const warmUpMs = await warmUp(users, clients);
    const exchanged = await exchange(users, clients, options);
    const connectionsHeld = clients.filter(
      (client) => client.socket.readyState === client.socket.OPEN,
    ).length;
    measured = { ...exchanged, connectionsHeld, connectMs, warmUpMs, peakMemoryMb: await peakMemory(stack) };
  } catch (error) {
    process.stderr.write(
      `local stack output (last lines):\n${stack.output().split('\n').slice(-30).join('\n')}\n`,
    );
    throw error;
  } finally {
    for (const client of clients) client.socket.terminate();
  }
  return { ...measured, stoppedCleanly: await stopAndCheck(stack) };
}

/** Connects every user, CONNECT_CONCURRENCY at a time, into `clients` (so a failure leaves them to close). */
export async function connectAll(
  stack: LocalStackProcess,
  secret: string,
  users: readonly string[],
  clients: Client[],
): Promise<void> {
  for (let i = 0; i < users.length; i += CONNECT_CONCURRENCY) {
    const batch = users.slice(i, i + CONNECT_CONCURRENCY);
    clients.push(
      ...(await Promise.all(batch.map(async (user) => connect(await clientUrl(stack, user, secret))))),
    );
  }
}

/**
 * One message from each pair's first user to the second, at most WARM_UP_CONCURRENCY at a time, waited
 * for: it creates the pair's direct conversation, so the timed run measures steady traffic rather than
 * first contacts (and the connects' presence records are through the stream by then).
 */
export async function warmUp(users: readonly string[], clients: readonly Client[]): Promise<number> {
  const started = performance.now();
  for (let pair = 0; pair < users.length / 2; pair += WARM_UP_CONCURRENCY) {
    const batch = Array.from(
      { length: Math.min(WARM_UP_CONCURRENCY, users.length / 2 - pair) },
      (_, i) => pair + i,
    );
    await Promise.all(
      batch.map(async (p) => {
        const [from, to] = [clients[2 * p], clients[2 * p + 1]];
        if (from === undefined || to === undefined) return;
        const clientMessageId = `warm-up-${p}`;
        from.send({ action: 'sendMessage', to: users[2 * p + 1], clientMessageId, content: 'hello' });
        await to.until((frame) => frame.type === 'message' && frame.clientMessageId === clientMessageId);
      }),
    );
  }
  return performance.now() - started;
}

export type ExchangeResult = Omit<
  LoadResult,
  'connectionsHeld' | 'connectMs' | 'warmUpMs' | 'peakMemoryMb' | 'stoppedCleanly'
>;

/**
 * One open-loop run on clients already connected and warmed up. `label` keeps each run's
 * clientMessageIds apart, so several runs can share one stack; the run's listeners are removed when it
 * ends, and it ends only once everything sent has arrived (or DRAIN_LIMIT_MS passed), so the next run
 * starts on an empty backlog.
 */
export async function exchange(
  users: readonly string[],
  clients: readonly Client[],
  options: Omit<LoadOptions, 'users'>,
  label = 'load',
): Promise<ExchangeResult> {
  const outgoing = new Map<string, Outgoing>();
  let delivered = 0;
  let duplicated = 0;
  let errorFrames = 0;
  const latencies: number[] = [];
  const ackLatencies: number[] = [];
  let firstSend = Number.POSITIVE_INFINITY;
  let lastArrival = 0;
  const partnerOf = (i: number) => (i % 2 === 0 ? i + 1 : i - 1);

  const listeners = clients.map((_, index) => (data: WebSocket.RawData) => {
    const arrivedAt = performance.now();
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    if (frame.type === 'error') errorFrames++;
    if (frame.type === 'ack') {
      const sent = outgoing.get(String(frame.clientMessageId));
      if (sent !== undefined && !sent.acked) {
        sent.acked = true;
        ackLatencies.push(arrivedAt - sent.sentAt);
      }
      return;
    }
    if (frame.type !== 'message') return;
    const sent = outgoing.get(String(frame.clientMessageId));
    if (sent === undefined || sent.recipient !== index) return;
    sent.arrivals += 1;
    if (sent.arrivals > 1) {
      duplicated += 1;
      return;
    }
    delivered += 1;
    latencies.push(arrivedAt - sent.sentAt);
    lastArrival = Math.max(lastArrival, arrivedAt);
  });
  clients.forEach((client, index) => {
    const listener = listeners[index];
    if (listener !== undefined) client.socket.on('message', listener);
  });

  // Each user sends every `interval` ms, starting at a random phase: a steady rate per user, and an
  // offered load that does not come in waves.
  const interval = (users.length / options.offeredRate) * 1000;
  const started = performance.now();
  const timers: NodeJS.Timeout[] = [];
  clients.forEach((client, index) => {
    let n = 0;
    const sendNext = () => {
      const at = started + (Math.random() + n) * interval;
      if (at - started >= options.durationMs) return;
      timers.push(
        setTimeout(
          () => {
            const clientMessageId = `${label}-u${index}-m${n}`;
            const sentAt = performance.now();
            firstSend = Math.min(firstSend, sentAt);
            outgoing.set(clientMessageId, { sentAt, recipient: partnerOf(index), acked: false, arrivals: 0 });
            client.socket.send(
              JSON.stringify({
                action: 'sendMessage',
                to: users[partnerOf(index)],
                clientMessageId,
                content: `load ${n}`,
              }),
            );
            n += 1;
            sendNext();
          },
          Math.max(0, at - performance.now()),
        ),
      );
    };
    sendNext();
  });
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  const drainUntil = performance.now() + DRAIN_LIMIT_MS;
  while (delivered < outgoing.size && performance.now() < drainUntil) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (const timer of timers) clearTimeout(timer);
  await new Promise((resolve) => setTimeout(resolve, DUPLICATE_GRACE_MS));
  clients.forEach((client, index) => {
    const listener = listeners[index];
    if (listener !== undefined) client.socket.off('message', listener);
  });
  const acked = [...outgoing.values()].filter((m) => m.acked).length;
  const seconds = (lastArrival - firstSend) / 1000;
  return {
    sent: outgoing.size,
    acked,
    delivered,
    lost: outgoing.size - delivered,
    duplicated,
    errorFrames,
    latency: latencies.length > 0 ? summarize(latencies) : undefined,
    ackLatency: ackLatencies.length > 0 ? summarize(ackLatencies) : undefined,
    throughputPerS: seconds > 0 ? delivered / seconds : 0,
  };
}

/** Peak resident memory (VmHWM) in MB of the gateway's process and of DynamoDB Local's JVM. */
export async function peakMemory(stack: LocalStackProcess): Promise<LoadResult['peakMemoryMb']> {
  const port = Number(new URL(stack.dynamoDbEndpoint).port);
  const [jvm] = await dynamoDbLocalProcesses(port);
  return {
    gateway: await vmHwmMb(stack.pid),
    dynamoDbLocal: jvm === undefined ? Number.NaN : await vmHwmMb(Number(jvm)),
  };
}

async function vmHwmMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

export function printLoad(result: LoadResult, options: LoadOptions = LOAD_DEFAULTS): void {
  const ms = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
  const l = result.latency;
  process.stdout.write(
    `${heading('Load: many connections, open-loop senders')}` +
      `node local/start.ts on 127.0.0.1, ${options.users} users connected at once in pairs, each sending to its partner\n` +
      `every ${((options.users / options.offeredRate) * 1000).toFixed(0)} ms from a random phase ` +
      `(${options.offeredRate} messages/s offered in all) for ${options.durationMs / 1000} s.\n\n` +
      `${textTable(
        [
          'connections held',
          'sent',
          'acked',
          'delivered',
          'lost',
          'duplicated',
          'p50 ms',
          'p95 ms',
          'p99 ms',
          'messages/s',
        ],
        [
          [
            String(result.connectionsHeld),
            String(result.sent),
            String(result.acked),
            String(result.delivered),
            String(result.lost),
            String(result.duplicated),
            ms(l?.p50),
            ms(l?.p95),
            ms(l?.p99),
            result.throughputPerS.toFixed(1),
          ],
        ],
        ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
      )}\n\n` +
      `  connecting ${options.users} users took ${(result.connectMs / 1000).toFixed(1)} s (${CONNECT_CONCURRENCY} at a time), ` +
      `the untimed first message of each pair ${(result.warmUpMs / 1000).toFixed(1)} s; error frames ${result.errorFrames}\n` +
      `  peak memory: gateway process ${result.peakMemoryMb.gateway.toFixed(0)} MB, DynamoDB Local ${result.peakMemoryMb.dynamoDbLocal.toFixed(0)} MB\n` +
      `  local stack stopped, DynamoDB Local's JVM and both ports gone: ${result.stoppedCleanly ? 'yes' : 'NO'}\n`,
  );
}

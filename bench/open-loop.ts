/**
 * `npm run bench -- open-loop`: latency under open load at several offered rates, on one local stack
 * with 200 clients (100 pairs). Unlike the turn-taking latency run, every client sends on its own
 * schedule, as real users do, so a slow stack builds a queue instead of slowing the senders down. Each
 * rate runs on the stack the previous one left (connected, warmed up, its backlog drained), and the
 * CPU each process used during the run is read from /proc: it says what saturates first, the
 * gateway's Node.js process (WebSocket endpoint, handlers, stream poller) or DynamoDB Local's JVM.
 */
import { readFile } from 'node:fs/promises';
import type { Client } from '../local/harness/ws-client.ts';
import { dynamoDbLocalProcesses, startBenchStack, stopAndCheck } from './latency.ts';
import { connectAll, type ExchangeResult, exchange, warmUp } from './load.ts';
import { heading, textTable } from './text-table.ts';

export interface OpenLoopOptions {
  readonly users: number;
  readonly rates: readonly number[];
  readonly durationMs: number;
}

export const OPEN_LOOP_DEFAULTS: OpenLoopOptions = {
  users: 200,
  rates: [25, 50, 60, 70, 85, 100],
  durationMs: 20_000,
};

/** Untimed open-loop traffic at the first rate before the measured runs. */
const WARM_UP_MS = 15_000;
/** Where p95 is read as "crossed": architecture.md asks for no figure, the issue for this one. */
export const KNEE_P95_MS = 100;
/** A rate whose p95 passed this is queueing, not serving: higher rates would only queue longer. */
const GIVE_UP_P95_MS = 2_000;

/** Cores used on average during the run (1 = one core busy all the time). */
export interface CpuUse {
  readonly gateway: number;
  readonly dynamoDbLocal: number;
  /** This process: the 200 clients. */
  readonly clients: number;
}

export interface OpenLoopRun extends ExchangeResult {
  readonly offeredPerS: number;
  readonly cpu: CpuUse;
}

export interface OpenLoopResult {
  readonly users: number;
  readonly runs: readonly OpenLoopRun[];
  /** The first offered rate whose p95 crossed KNEE_P95_MS; null when none did. */
  readonly kneePerS: number | null;
  readonly stoppedCleanly: boolean;
}

export async function measureOpenLoop(
  options: OpenLoopOptions = OPEN_LOOP_DEFAULTS,
): Promise<OpenLoopResult> {
  const { stack, secret } = await startBenchStack({ LOG_LEVEL: 'error' });
  const clients: Client[] = [];
  const runs: OpenLoopRun[] = [];
  try {
    const users = Array.from({ length: options.users }, (_, i) => `open-${i}`);
    await connectAll(stack, secret, users, clients);
    await warmUp(users, clients);
    // Untimed: the JVM's JIT and the stack's caches settle before the first rate is measured.
    await exchange(users, clients, { offeredRate: options.rates[0] ?? 25, durationMs: WARM_UP_MS }, 'warm');
    const [jvm] = await dynamoDbLocalProcesses(Number(new URL(stack.dynamoDbEndpoint).port));
    for (const rate of options.rates) {
      const before = await cpuTicks(stack.pid, Number(jvm));
      const started = performance.now();
      const run = await exchange(
        users,
        clients,
        { offeredRate: rate, durationMs: options.durationMs },
        `r${rate}`,
      );
      const after = await cpuTicks(stack.pid, Number(jvm));
      const seconds = (performance.now() - started) / 1000;
      runs.push({
        ...run,
        offeredPerS: rate,
        cpu: {
          gateway: (after.gateway - before.gateway) / TICKS_PER_S / seconds,
          dynamoDbLocal: (after.dynamoDbLocal - before.dynamoDbLocal) / TICKS_PER_S / seconds,
          clients: (after.clients - before.clients) / 1e6 / seconds,
        },
      });
      if ((run.latency?.p95 ?? Number.POSITIVE_INFINITY) > GIVE_UP_P95_MS || run.lost > 0) break;
    }
  } catch (error) {
    process.stderr.write(
      `local stack output (last lines):\n${stack.output().split('\n').slice(-30).join('\n')}\n`,
    );
    throw error;
  } finally {
    for (const client of clients) client.socket.terminate();
  }
  const knee = runs.find((run) => (run.latency?.p95 ?? Number.POSITIVE_INFINITY) > KNEE_P95_MS);
  return {
    users: options.users,
    runs,
    kneePerS: knee?.offeredPerS ?? null,
    stoppedCleanly: await stopAndCheck(stack),
  };
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in hundredths of a second. */
const TICKS_PER_S = 100;

async function cpuTicks(
  gatewayPid: number,
  jvmPid: number,
): Promise<{ gateway: number; dynamoDbLocal: number; clients: number }> {
  const own = process.cpuUsage();
  return {
    gateway: await processTicks(gatewayPid),
    dynamoDbLocal: await processTicks(jvmPid),
    clients: own.user + own.system,
  };
}

/** utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat, after the parenthesised name). */
async function processTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export function printOpenLoop(result: OpenLoopResult, options: OpenLoopOptions = OPEN_LOOP_DEFAULTS): void {
  const ms = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
  const rows = result.runs.map((run) => [
    String(run.offeredPerS),
    String(run.sent),
    String(run.delivered),
    String(run.lost),
    String(run.duplicated),
    ms(run.latency?.p50),
    ms(run.latency?.p95),
    ms(run.latency?.p99),
    ms(run.ackLatency?.p95),
    run.throughputPerS.toFixed(1),
    run.cpu.gateway.toFixed(2),
    run.cpu.dynamoDbLocal.toFixed(2),
    run.cpu.clients.toFixed(2),
  ]);
  const header = [
    'offered/s',
    'sent',
    'delivered',
    'lost',
    'dup',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'ack p95 ms',
    'delivered/s',
    'gateway CPU',
    'DynamoDB Local CPU',
    'clients CPU',
  ];
  const knee =
    result.kneePerS === null
      ? `none of the rates (up to ${Math.max(...options.rates)}/s)`
      : `${result.kneePerS} messages/s`;
  process.stdout.write(
    `${heading('Latency under open load')}` +
      `node local/start.ts on 127.0.0.1, ${result.users} clients in pairs, each sending to its partner on its own\n` +
      `schedule (a random phase, then a fixed interval), ${options.durationMs / 1000} s per offered rate, one stack for all rates,\n` +
      `each run drained before the next, after ${WARM_UP_MS / 1000} s of untimed traffic at the first rate.\n` +
      'CPU in cores (2 on this machine) from /proc, averaged over the run.\n\n' +
      `${textTable(header, rows, Array(header.length).fill('right'))}\n\n` +
      `  p95 crosses ${KNEE_P95_MS} ms at: ${knee}\n` +
      `  local stack stopped, DynamoDB Local's JVM and both ports gone: ${result.stoppedCleanly ? 'yes' : 'NO'}\n`,
  );
}

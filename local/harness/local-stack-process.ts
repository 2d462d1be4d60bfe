/**
 * `node local/start.ts` as a child process on free ports, as a developer runs it: resolves once it
 * prints its `PARLEY_LOCAL_READY` line, and stops it with SIGTERM like Ctrl-C would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface LocalStackProcess {
  readonly url: string;
  readonly httpUrl: string;
  readonly dynamoDbEndpoint: string;
  readonly startupMs: number;
  /** The gateway's Node.js process (benchmarks read its memory). */
  readonly pid: number;
  readonly output: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const ROOT = join(import.meta.dirname, '..', '..');

export async function startLocalStackProcess(env: Record<string, string> = {}): Promise<LocalStackProcess> {
  const child = spawn(process.execPath, ['local/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const onData = () => {
      const line = /PARLEY_LOCAL_READY (.*)\n/.exec(output)?.[1];
      if (line !== undefined) {
        child.stdout?.off('data', onData);
        resolve(JSON.parse(line) as Record<string, unknown>);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`local stack exited with ${code}:\n${output}`)));
  });
  const port = Number(ready.port);
  return {
    url: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    dynamoDbEndpoint: String(ready.dynamoDbEndpoint),
    startupMs: Number(ready.startupMs),
    output: () => output,
    pid: child.pid ?? 0,
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  return exited;
}

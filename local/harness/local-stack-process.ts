/**
 * `node local/start.ts` as a child process on free ports, as a developer runs it: resolves once it
 * prints its `PARLEY_LOCAL_READY` line, and stops it with SIGTERM like Ctrl-C would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../dynamodb-local.ts';

export interface LocalStackProcess {
  readonly url: string;
  readonly httpUrl: string;
  readonly dynamoDbEndpoint: string;
  readonly tableName: string;
  readonly startupMs: number;
  /** The gateway's Node.js process (benchmarks read its memory). */
  readonly pid: number;
  readonly output: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const ROOT = join(import.meta.dirname, '..', '..');

/** `args` are `npm start`'s flags (`--send-hook PATH`, …); `env` is added to this process's environment. */
export async function startLocalStackProcess(
  env: Record<string, string> = {},
  args: readonly string[] = [],
): Promise<LocalStackProcess> {
  const shared = sharedTable();
  const child = spawn(process.execPath, ['local/start.ts', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...(shared && { PARLEY_TABLE: shared.tableName }),
      ...env,
    },
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
    tableName: String(ready.tableName),
    startupMs: Number(ready.startupMs),
    output: () => output,
    pid: child.pid ?? 0,
    stop: async () => {
      const code = await stopChild(child, exited);
      if (shared !== undefined) await dropSharedTable(String(ready.tableName));
      return code;
    },
  };
}

/**
 * With `PARLEY_DYNAMODB_ENDPOINT` set (the test suites' one DynamoDB Local), a table of this stack's own,
 * so that stacks sharing the emulator never see each other's items or stream records.
 */
export function sharedTable(): { dynamoDbEndpoint: string; tableName: string } | undefined {
  const dynamoDbEndpoint = process.env.PARLEY_DYNAMODB_ENDPOINT;
  if (dynamoDbEndpoint === undefined || dynamoDbEndpoint === '') return undefined;
  return { dynamoDbEndpoint, tableName: `parley-e2e-${randomUUID().slice(0, 8)}` };
}

/**
 * Deletes a stack's table from the shared DynamoDB Local once the stack stopped: the emulator slows
 * down as tables pile up in it. Nothing without `PARLEY_DYNAMODB_ENDPOINT`.
 */
export async function dropSharedTable(tableName: string): Promise<void> {
  const endpoint = process.env.PARLEY_DYNAMODB_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  } finally {
    client.destroy();
  }
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  return exited;
}

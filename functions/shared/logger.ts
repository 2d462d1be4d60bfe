import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Structured JSON logs, one object per line. Every line carries the keys of the invocation it belongs
 * to (connection id, request id, route), kept in AsyncLocalStorage so concurrent invocations in the
 * local stack never mix. Never log tokens or message content: pass ids and codes only.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
type Keys = Record<string, unknown>;

const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const threshold =
  LEVELS[(process.env.LOG_LEVEL?.toLowerCase() as Level | undefined) ?? 'info'] ?? LEVELS.info;
const invocation = new AsyncLocalStorage<Keys>();

function write(level: Level, message: string, extra?: Keys): void {
  if (LEVELS[level] < threshold) return;
  const line = { level, message, timestamp: new Date().toISOString(), ...invocation.getStore(), ...extra };
  process.stdout.write(`${JSON.stringify(line, errorReplacer)}\n`);
}

/** Errors serialise to name/message/code only: stacks and SDK metadata stay out of the log line. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, ...(code === undefined ? {} : { code }) };
  }
  return value;
}

export const logger = {
  debug: (message: string, extra?: Keys) => write('debug', message, extra),
  info: (message: string, extra?: Keys) => write('info', message, extra),
  warn: (message: string, extra?: Keys) => write('warn', message, extra),
  error: (message: string, extra?: Keys) => write('error', message, extra),
};

/** Runs `fn` with `keys` added to every log line it writes, including in awaited calls. */
export function withLogKeys<T>(keys: Keys, fn: () => T): T {
  return invocation.run({ ...invocation.getStore(), ...keys }, fn);
}

/**
 * The local stack in this test process, for the end-to-end files that wrap its handlers to hold an
 * invocation at a chosen moment: a free port on 127.0.0.1, the worker's DynamoDB Local with a table of
 * its own, AWS's idle and connection limits.
 */
import type { LocalHandlers } from '../../../local/handlers.ts';
import { dropSharedTable, sharedTable } from '../../../local/harness/local-stack-process.ts';
import { type LocalStack, startLocalStack } from '../../../local/stack.ts';

export function startInProcessStack(
  wrapHandlers: (handlers: LocalHandlers) => LocalHandlers,
): Promise<LocalStack> {
  return startLocalStack({
    port: 0,
    host: '127.0.0.1',
    dynamoDbPort: 0,
    persistDir: undefined,
    ...sharedTable(),
    idleTimeoutMs: 10 * 60_000,
    maxConnectionMs: 2 * 60 * 60_000,
    wrapHandlers,
  });
}

/** Stops the stack (when it started) and drops its table from the worker's DynamoDB Local. */
export async function stopInProcessStack(stack: LocalStack | undefined): Promise<void> {
  if (stack === undefined) return;
  await stack.stop();
  await dropSharedTable(stack.tableName);
}

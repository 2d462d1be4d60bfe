/**
 * Stopping the local stack while a `$connect` still runs: the stack must exit, and the client's socket
 * must end. An upgrade that finished after the stop began used to return without closing its socket,
 * and `server.close()` then waited for that socket forever: a chaos run whose stack never exited.
 * The test holds `$connect` until the stop has begun, whatever the timing.
 */
import { afterAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { LocalHandlers, RouteHandler } from '../../local/handlers.ts';
import { dropSharedTable } from '../../local/harness/local-stack-process.ts';
import { setLocalLogSink } from '../../local/log.ts';
import type { LocalStack } from '../../local/stack.ts';
import { startInProcessStack } from './support/in-process-stack.ts';
import { localToken } from './support/tokens.ts';

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

let stack: LocalStack | undefined;

afterAll(async () => {
  if (stack !== undefined) await dropSharedTable(stack.tableName);
});

it('stops while a $connect is still running, and ends that socket', async () => {
  // GIVEN a stack whose $connect waits, once it has run, until the test lets it answer
  process.env.LOG_LEVEL = 'error';
  setLocalLogSink(() => undefined);
  const connectRan = deferred();
  const release = deferred();
  const wrap = (handlers: LocalHandlers): LocalHandlers => {
    const routes = new Map(handlers.routes);
    const connect = handlers.routes.get('$connect') as RouteHandler;
    routes.set('$connect', async (event, context) => {
      const answer = await connect(event, context);
      connectRan.resolve();
      await release.promise;
      return answer;
    });
    return { ...handlers, routes };
  };
  stack = await startInProcessStack(wrap);
  const socket = new WebSocket(`${stack.url}/?token=${await localToken('ada')}`);
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
  });
  await connectRan.promise;

  // WHEN the stack is stopped while that $connect has not answered, and it answers afterwards
  const stopped = stack.stop();
  release.resolve();

  // THEN the stack stops (without the fix this never resolved), and the client's socket ended
  await expect(stopped).resolves.toBeUndefined();
  await ended;
  expect(socket.readyState).toBe(WebSocket.CLOSED);
});

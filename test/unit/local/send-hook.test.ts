/**
 * The send hook in the local stack (local/send-hook.ts): a module's `handler` run in process behind a
 * local Lambda Invoke endpoint, reached by the handlers' own Lambda client and code
 * (functions/adapters/send-hook.ts) through `LAMBDA_ENDPOINT`. Each answer and each failure the hook
 * can give, under both `onFailure` settings, through that real HTTP path; and a module that is not a
 * hook is refused when the stack starts.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SendHookEvent, SendHookFailurePolicy } from '../../../definitions/send-hook.ts';
import { lambdaSendHook, sendHookClient } from '../../../functions/adapters/send-hook.ts';
import {
  BlockedContentError,
  InternalError,
  PaymentRequiredError,
} from '../../../functions/domain/errors.ts';
import { askSendHook } from '../../../functions/domain/send-hook.ts';
import { ConnectionRegistry } from '../../../local/gateway/connections.ts';
import { LocalRoutes } from '../../../local/http/local-routes.ts';
import { createLocalServer } from '../../../local/http/server.ts';
import { setLocalLogSink } from '../../../local/log.ts';
import {
  addLambdaRoutes,
  LAMBDA_PATH,
  LOCAL_SEND_HOOK_NAME,
  loadSendHook,
} from '../../../local/send-hook.ts';

const HOOK_MODULE = 'test/fixtures/send-hooks/by-content.ts';
const ARN = `arn:aws:lambda:us-east-1:000000000000:function:${LOCAL_SEND_HOOK_NAME}`;
const TIMEOUT_MS = 300;

let server: Server;
let baseUrl: string;
const logged: string[] = [];

beforeAll(async () => {
  setLocalLogSink((line) => logged.push(line));
  const localRoutes = new LocalRoutes();
  addLambdaRoutes(
    localRoutes,
    new Map([[LOCAL_SEND_HOOK_NAME, await loadSendHook(HOOK_MODULE)]]),
    TIMEOUT_MS,
  );
  server = createLocalServer({ registry: new ConnectionRegistry(), localRoutes, endpoint: undefined });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  setLocalLogSink((line) => process.stdout.write(`${line}\n`));
});

const event = (content: string): SendHookEvent => ({
  type: 'sendMessage',
  senderId: 'alice',
  conversationId: 'dm_alice_bob',
  kind: 'direct',
  members: ['alice', 'bob'],
  clientMessageId: `c-${content.replaceAll(' ', '-')}`,
  content,
  attachments: [],
  replyTo: null,
  mentions: [],
});

/** The hook as the handlers build it, with `LAMBDA_ENDPOINT` pointing at the local endpoint. */
function localHook(onFailure: SendHookFailurePolicy, functionArn = ARN) {
  vi.stubEnv('LAMBDA_ENDPOINT', `${baseUrl}${LAMBDA_PATH}`);
  try {
    const settings = { functionArn, timeoutMs: TIMEOUT_MS, onFailure };
    return lambdaSendHook(settings, sendHookClient(settings));
  } finally {
    vi.unstubAllEnvs();
  }
}

const ask = (onFailure: SendHookFailurePolicy, content: string) =>
  askSendHook(localHook(onFailure), event(content), { allowEmpty: false });

describe('answers through the local Invoke endpoint', () => {
  it('allow: the content as it was', async () => {
    await expect(ask('refuse', 'hello')).resolves.toBe('hello');
  });

  it('rewrite: the hook’s content', async () => {
    await expect(ask('refuse', 'rewrite')).resolves.toBe('rewritten by the hook');
  });

  it('deny: the code and the hook’s message', async () => {
    const paying = ask('allow', 'pay');
    await expect(paying).rejects.toBeInstanceOf(PaymentRequiredError);
    await expect(paying).rejects.toMatchObject({
      code: 'payment_required',
      message: 'No credits left: buy more.',
    });
    const blocking = ask('allow', 'block');
    await expect(blocking).rejects.toBeInstanceOf(BlockedContentError);
    await expect(blocking).rejects.toMatchObject({ code: 'blocked_content', message: 'Not here, please.' });
  });

  it('passes the event as the handler’s first argument, unchanged', async () => {
    const hook = localHook('refuse');
    await expect(hook.call(event('rewrite'))).resolves.toEqual({
      action: 'rewrite',
      content: 'rewritten by the hook',
    });
  });

  it('logs the answer’s action to the terminal, never the content', async () => {
    logged.length = 0;
    await ask('refuse', 'rewrite');
    expect(logged.join('\n')).toMatch(/parley-local-send-hook sendMessage: rewrite \(\d+ ms\)/);
    expect(logged.join('\n')).not.toContain('rewritten by the hook');
  });
});

describe.each([
  ['it times out', 'hang'],
  ['it throws (a function error, as Lambda reports it)', 'throw'],
  ['its answer is malformed', 'malformed'],
  ['it answers nothing (undefined: Lambda’s null)', 'undefined'],
  ['it rewrites beyond 4000 characters', 'long rewrite'],
])('when %s', (_case, content) => {
  it('onFailure refuse: internal', async () => {
    await expect(ask('refuse', content)).rejects.toBeInstanceOf(InternalError);
  });

  it('onFailure allow: the content unchanged', async () => {
    await expect(ask('allow', content)).resolves.toBe(content);
  });
});

describe('the endpoint', () => {
  it('answers an unknown function as Lambda does (ResourceNotFoundException): a failed Invoke', async () => {
    const hook = localHook('refuse', 'arn:aws:lambda:us-east-1:000000000000:function:nope');
    await expect(hook.call(event('hello'))).rejects.toMatchObject({
      reason: 'invoke_failed',
      detail: 'ResourceNotFoundException',
    });
  });

  it('reports a thrown error by its type only', async () => {
    await expect(localHook('refuse').call(event('throw'))).rejects.toMatchObject({
      reason: 'function_error',
      detail: 'TypeError',
    });
  });
});

describe('loading the module', () => {
  it('refuses a module that does not exist, naming it', async () => {
    await expect(loadSendHook('examples/send-hook/nope.ts')).rejects.toThrow(/nope\.ts does not exist/);
  });

  it('refuses a module without a handler', async () => {
    await expect(loadSendHook('test/fixtures/send-hooks/no-handler.ts')).rejects.toThrow(
      /does not export a `handler` function/,
    );
  });
});

/**
 * The send hook over Lambda's Invoke API (functions/adapters/send-hook.ts) and what its answers mean
 * (functions/domain/send-hook.ts), with the Lambda client mocked: the request Parley sends, the three
 * answers of integration.md, and every way a call fails (timeout, a crash, a failed Invoke, a malformed
 * answer, a rewrite beyond 4000 characters) under both `onFailure` settings, each counted.
 */
import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import type { SendHookEvent, SendHookFailurePolicy } from '../../../definitions/send-hook.ts';
import { lambdaSendHook, sendHookSettingsFromEnv } from '../../../functions/adapters/send-hook.ts';
import {
  BlockedContentError,
  ForbiddenError,
  InternalError,
  PaymentRequiredError,
} from '../../../functions/domain/errors.ts';
import { askSendHook } from '../../../functions/domain/send-hook.ts';

const lambda = mockClient(LambdaClient);
const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:parley-send-hook';
const TIMEOUT_MS = 150;

const EVENT: SendHookEvent = {
  type: 'sendMessage',
  senderId: 'alice',
  conversationId: 'grp-lunch',
  kind: 'group',
  members: ['alice', 'bob', 'carol'],
  clientMessageId: 'c-1',
  content: 'Are we still on for lunch?',
  attachments: [{ contentType: 'image/jpeg', size: 48_213 }],
  replyTo: null,
  mentions: [],
};

const hookFor = (onFailure: SendHookFailurePolicy) =>
  lambdaSendHook({ functionArn: ARN, timeoutMs: TIMEOUT_MS, onFailure }, new LambdaClient({}));

const ask = (onFailure: SendHookFailurePolicy, event: SendHookEvent = EVENT, allowEmpty = false) =>
  askSendHook(hookFor(onFailure), event, { allowEmpty });

/** A payload as Lambda's Invoke returns it (the SDK's blob adapter: bytes that also read as text). */
const bytes = (text: string) =>
  Object.assign(new TextEncoder().encode(text), {
    transformToString: () => text,
  }) as unknown as InvokeCommandOutput['Payload'];

/** The function answered `value` (as JSON). */
const answers = (value: unknown) =>
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes(JSON.stringify(value)) });

let stdout: MockInstance<typeof process.stdout.write>;

/** The Embedded Metric Format documents written, as name → dimensions. */
function metricsWritten(): { name: string; dimensions: Record<string, unknown> }[] {
  return stdout.mock.calls
    .map(([chunk]) => String(chunk))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => {
      const document = JSON.parse(line) as Record<string, unknown> & {
        _aws: { CloudWatchMetrics: { Metrics: { Name: string }[]; Dimensions: string[][] }[] };
      };
      const directive = document._aws.CloudWatchMetrics[0];
      const name = directive?.Metrics[0]?.Name ?? '';
      const keys = directive?.Dimensions[0] ?? [];
      return { name, dimensions: Object.fromEntries(keys.map((key) => [key, document[key]])) };
    });
}

beforeEach(() => {
  vi.stubEnv('PARLEY_METRICS', 'on');
  stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
});

afterEach(() => {
  lambda.reset();
  stdout.mockRestore();
  vi.unstubAllEnvs();
});

describe('the Invoke request', () => {
  it('invokes the configured function synchronously with the event as its payload', async () => {
    answers({ action: 'allow' });

    await ask('refuse');

    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
    const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.FunctionName).toBe(ARN);
    expect(input?.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual(EVENT);
  });
});

describe('answers', () => {
  it('allow: the content as it was', async () => {
    answers({ action: 'allow' });
    await expect(ask('refuse')).resolves.toBe(EVENT.content);
    expect(metricsWritten()).toEqual([
      { name: 'SendHookAnswers', dimensions: { Event: 'sendMessage', Answer: 'allow' } },
    ]);
  });

  it.each([
    ['payment_required', PaymentRequiredError, 'You are out of credits: buy more to keep chatting.'],
    ['blocked_content', BlockedContentError, 'Links are not allowed here.'],
    ['forbidden', ForbiddenError, 'Only matched users can write to each other.'],
  ] as const)('deny %s: refused with that code and the hook’s message, logged without it', async (code, type, message) => {
    answers({ action: 'deny', code, message });

    const refusal = await ask('allow').catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(type);
    expect(refusal).toMatchObject({ code, message, logReason: `the send hook refused it (${code})` });
    expect(metricsWritten()).toEqual([
      { name: 'SendHookAnswers', dimensions: { Event: 'sendMessage', Answer: 'deny' } },
    ]);
  });

  it('deny: a message longer than an error frame should carry is cut to 1000 characters', async () => {
    answers({ action: 'deny', code: 'blocked_content', message: `  ${'🚫'.repeat(1_500)}  ` });
    const refusal = (await ask('refuse').catch((error: unknown) => error)) as Error;
    expect([...refusal.message]).toHaveLength(1_000);
  });

  it('rewrite: the hook’s content, trimmed like any content', async () => {
    answers({ action: 'rewrite', content: '  Are we still on for ****?  ' });
    await expect(ask('refuse')).resolves.toBe('Are we still on for ****?');
    expect(metricsWritten()).toEqual([
      { name: 'SendHookAnswers', dimensions: { Event: 'sendMessage', Answer: 'rewrite' } },
    ]);
  });

  it('rewrite: exactly 4000 characters (code points) is content', async () => {
    answers({ action: 'rewrite', content: '😀'.repeat(4_000) });
    await expect(ask('refuse')).resolves.toBe('😀'.repeat(4_000));
  });

  it('rewrite to nothing beside attachments is content, as an empty text with attachments is', async () => {
    answers({ action: 'rewrite', content: '   ' });
    await expect(ask('refuse', EVENT, true)).resolves.toBe('');
  });
});

/** Each way a call can fail, with the `Reason` it is counted under. */
const FAILURES: [string, () => void, string][] = [
  [
    'no answer within timeoutMs',
    () => lambda.on(InvokeCommand).callsFake(() => new Promise(() => {})),
    'timeout',
  ],
  [
    'the function threw (a function error)',
    () =>
      lambda.on(InvokeCommand).resolves({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: bytes(JSON.stringify({ errorType: 'TypeError', errorMessage: 'x is undefined' })),
      }),
    'function_error',
  ],
  [
    'the Invoke call failed (throttled)',
    () =>
      lambda
        .on(InvokeCommand)
        .rejects(new TooManyRequestsException({ message: 'Rate exceeded', $metadata: {} })),
    'invoke_failed',
  ],
  [
    'a payload that is not JSON',
    () => lambda.on(InvokeCommand).resolves({ Payload: bytes('ok') }),
    'malformed',
  ],
  ['no answer object (null)', () => answers(null), 'malformed'],
  ['an action the contract does not have', () => answers({ action: 'approve' }), 'malformed'],
  [
    'a deny with a code the hook may not use',
    () => answers({ action: 'deny', code: 'internal', message: 'no' }),
    'malformed',
  ],
  ['a deny without a message', () => answers({ action: 'deny', code: 'blocked_content' }), 'malformed'],
  ['a rewrite without content', () => answers({ action: 'rewrite', text: 'hello' }), 'malformed'],
  [
    'a rewrite beyond 4000 characters',
    () => answers({ action: 'rewrite', content: 'x'.repeat(4_001) }),
    'bad_rewrite',
  ],
  [
    'a rewrite to nothing, without attachments',
    () => answers({ action: 'rewrite', content: ' ' }),
    'bad_rewrite',
  ],
];

describe.each(FAILURES)('when %s', (_case, given, reason) => {
  it('onFailure refuse: answers internal, and counts the failure', async () => {
    given();
    const refusal = await ask('refuse').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(InternalError);
    expect(refusal).toMatchObject({ code: 'internal' });
    expect(metricsWritten()).toEqual([{ name: 'SendHookFailures', dimensions: { Reason: reason } }]);
  });

  it('onFailure allow: the content unchanged, and counts the failure', async () => {
    given();
    await expect(ask('allow')).resolves.toBe(EVENT.content);
    expect(metricsWritten()).toEqual([{ name: 'SendHookFailures', dimensions: { Reason: reason } }]);
  });
});

describe('the deadline', () => {
  it('gives up after timeoutMs, not later', async () => {
    lambda.on(InvokeCommand).callsFake(() => new Promise(() => {}));
    const started = performance.now();
    await ask('allow');
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(waited).toBeLessThan(TIMEOUT_MS + 1_000);
  });

  it('takes an answer that comes just inside it', async () => {
    lambda
      .on(InvokeCommand)
      .callsFake(
        () =>
          new Promise((resolve) =>
            setTimeout(
              () => resolve({ Payload: bytes('{"action":"rewrite","content":"late"}') }),
              TIMEOUT_MS / 3,
            ),
          ),
      );
    await expect(ask('refuse')).resolves.toBe('late');
  });
});

describe('configuration from the environment', () => {
  it('is no hook without SEND_HOOK_ARN', () => {
    vi.stubEnv('SEND_HOOK_ARN', '');
    expect(sendHookSettingsFromEnv()).toBeUndefined();
  });

  it('takes the defaults: 1000 ms, refuse', () => {
    vi.stubEnv('SEND_HOOK_ARN', ARN);
    expect(sendHookSettingsFromEnv()).toEqual({ functionArn: ARN, timeoutMs: 1_000, onFailure: 'refuse' });
  });

  it('reads the timeout and the policy', () => {
    vi.stubEnv('SEND_HOOK_ARN', `${ARN}:live`);
    vi.stubEnv('SEND_HOOK_TIMEOUT_MS', '2500');
    vi.stubEnv('SEND_HOOK_ON_FAILURE', 'allow');
    expect(sendHookSettingsFromEnv()).toEqual({
      functionArn: `${ARN}:live`,
      timeoutMs: 2_500,
      onFailure: 'allow',
    });
  });

  it.each([
    ['SEND_HOOK_ARN', 'parley-send-hook', /SEND_HOOK_ARN must be a Lambda function ARN/],
    [
      'SEND_HOOK_TIMEOUT_MS',
      '99',
      /SEND_HOOK_TIMEOUT_MS must be a whole number of milliseconds from 100 to 5000/,
    ],
    ['SEND_HOOK_TIMEOUT_MS', '1.5', /SEND_HOOK_TIMEOUT_MS/],
    ['SEND_HOOK_ON_FAILURE', 'ignore', /SEND_HOOK_ON_FAILURE must be one of refuse, allow/],
  ])('fails at cold start on %s=%s, naming the variable', (name, value, message) => {
    vi.stubEnv('SEND_HOOK_ARN', ARN);
    vi.stubEnv(name, value);
    expect(() => sendHookSettingsFromEnv()).toThrow(message);
  });
});

/**
 * The send hook over Lambda's Invoke API (integration.md, "The send hook"): synchronous
 * (`RequestResponse`), with the deployment's deadline, the event as the payload and the answer read
 * from the function's result. Deployed, the stack grants `lambda:InvokeFunction` on that one function
 * (lib/constructs/parley-function.ts); locally, `LAMBDA_ENDPOINT` points the same client at the local
 * stack, which runs the hook module in process (local/send-hook.ts).
 *
 * Configured from the environment, read once when the module loads (definitions/send-hook.ts has the
 * names): without `SEND_HOOK_ARN` there is no hook and no Lambda client is built.
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import {
  checkSendHookSettings,
  SEND_HOOK_ENV,
  type SendHookEvent,
  type SendHookSettings,
} from '../../definitions/send-hook.ts';
import { type SendHook, SendHookCallError } from '../domain/send-hook.ts';
import { optionalEnv } from '../shared/env.ts';

/** The hook this deployment configured, or undefined; a bad value fails the cold start, naming its variable. */
export function sendHookSettingsFromEnv(): SendHookSettings | undefined {
  const functionArn = optionalEnv(SEND_HOOK_ENV.functionArn);
  if (functionArn === undefined) return undefined;
  const timeoutMs = optionalEnv(SEND_HOOK_ENV.timeoutMs);
  const onFailure = optionalEnv(SEND_HOOK_ENV.onFailure);
  return checkSendHookSettings(
    {
      functionArn,
      ...(timeoutMs !== undefined && { timeoutMs }),
      ...(onFailure !== undefined && { onFailure }),
    },
    {
      functionArn: `Environment variable ${SEND_HOOK_ENV.functionArn}`,
      timeoutMs: `Environment variable ${SEND_HOOK_ENV.timeoutMs}`,
      onFailure: `Environment variable ${SEND_HOOK_ENV.onFailure}`,
    },
    (message) => new Error(message),
  );
}

/**
 * A Lambda client for the hook: every request may take the whole deadline (the shared clients' 2 s
 * request timeout would cut a slower hook short), and a failed attempt is retried only while the
 * deadline lasts (askSendHook's caller never waits longer than `timeoutMs`). `LAMBDA_ENDPOINT` is the
 * local stack's.
 */
export function sendHookClient(settings: SendHookSettings): LambdaClient {
  return new LambdaClient({
    maxAttempts: 2,
    requestHandler: {
      connectionTimeout: Math.min(3_000, settings.timeoutMs),
      requestTimeout: settings.timeoutMs,
      throwOnRequestTimeout: true,
    },
    endpoint: optionalEnv('LAMBDA_ENDPOINT'),
  });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The hook behind Invoke: the answer, or a SendHookCallError saying why there is none. */
export function lambdaSendHook(settings: SendHookSettings, client: LambdaClient): SendHook {
  return {
    onFailure: settings.onFailure,
    async call(event: SendHookEvent): Promise<unknown> {
      const controller = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      // Our own deadline rather than the SDK's alone: it covers retries and a connection that never
      // opens, and an abort ends the request in flight.
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new SendHookCallError('timeout', `${settings.timeoutMs} ms`));
        }, settings.timeoutMs);
      });
      let output: InvokeCommandOutput;
      try {
        output = await Promise.race([
          client.send(
            new InvokeCommand({
              FunctionName: settings.functionArn,
              InvocationType: 'RequestResponse',
              Payload: encoder.encode(JSON.stringify(event)),
            }),
            { abortSignal: controller.signal },
          ),
          deadline,
        ]);
      } catch (error) {
        if (error instanceof SendHookCallError) throw error;
        const name = error instanceof Error ? error.name : typeof error;
        throw new SendHookCallError('invoke_failed', name, { cause: error });
      } finally {
        clearTimeout(timer);
      }
      const payload = output.Payload === undefined ? '' : decoder.decode(output.Payload);
      // A function that threw, or ran out of its own time or memory: Lambda answers 200 with the error
      // as the payload. Only its type is kept; its message may quote what the function was given.
      if (output.FunctionError !== undefined) {
        throw new SendHookCallError('function_error', errorTypeOf(payload) ?? output.FunctionError);
      }
      try {
        return JSON.parse(payload) as unknown;
      } catch {
        throw new SendHookCallError('malformed', 'not JSON');
      }
    },
  };
}

function errorTypeOf(payload: string): string | undefined {
  try {
    const type = (JSON.parse(payload) as { errorType?: unknown }).errorType;
    return typeof type === 'string' ? type.slice(0, 100) : undefined;
  } catch {
    return undefined;
  }
}

const settings = sendHookSettingsFromEnv();

/** This deployment's hook: built once per container, and only when one is configured. */
export const sendHook: SendHook | undefined =
  settings === undefined ? undefined : lambdaSendHook(settings, sendHookClient(settings));

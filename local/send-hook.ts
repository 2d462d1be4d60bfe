/**
 * The send hook in the local stack (`npm start -- --send-hook ./path/to/hook.ts`, integration.md): the
 * module's `handler` runs in this process, like every Lambda handler of the stack, behind a local Lambda
 * Invoke endpoint. The handlers reach it with the same Lambda client and code they use in AWS
 * (functions/adapters/send-hook.ts), pointed here by `LAMBDA_ENDPOINT`: the local stack swaps
 * endpoints, never code. What the endpoint answers is what Lambda answers a `RequestResponse` Invoke:
 * 200 with the handler's result as JSON, or 200 with `X-Amz-Function-Error: Unhandled` and
 * `{ errorType, errorMessage }` when it threw.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { SendHookFailurePolicy } from '../definitions/send-hook.ts';
import { json, type LocalResponse, type LocalRoutes } from './http/local-routes.ts';
import { lambdaContext } from './lambda-context.ts';
import { localLog } from './log.ts';

/** Handlers get `LAMBDA_ENDPOINT = {base}${LAMBDA_PATH}`; the SDK appends `/2015-03-31/functions/…`. */
export const LAMBDA_PATH = '/_local/lambda';
/** The hook's function name; its ARN is the `SEND_HOOK_ARN` the handlers get. */
export const LOCAL_SEND_HOOK_NAME = 'parley-local-send-hook';

/** `npm start -- --send-hook PATH [--send-hook-timeout-ms N] [--send-hook-on-failure refuse|allow]`. */
export interface LocalSendHookOptions {
  /** The module exporting `handler`, relative to the working directory or absolute. */
  readonly modulePath: string;
  readonly timeoutMs: number;
  readonly onFailure: SendHookFailurePolicy;
}

export type LocalLambdaHandler = (event: unknown, context: Context) => unknown;

/** Imports the hook module; fails with one line naming the file when it is missing or exports no handler. */
export async function loadSendHook(modulePath: string): Promise<LocalLambdaHandler> {
  const path = resolve(modulePath);
  if (!existsSync(path)) throw new Error(`send hook module ${path} does not exist`);
  let module: { handler?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { handler?: unknown };
  } catch (error) {
    throw new Error(`Could not load send hook module ${path}`, { cause: error });
  }
  if (typeof module.handler !== 'function') {
    throw new Error(`Send hook module ${path} does not export a \`handler\` function`);
  }
  return module.handler as LocalLambdaHandler;
}

/**
 * `POST {LAMBDA_PATH}/2015-03-31/functions/{name or ARN}/invocations` for each function in `functions`
 * (by name). `timeoutMs` is what the handler's context reports as its time; Parley's own deadline is
 * the caller's, as in AWS (a handler still running when the caller gave up runs on, unseen).
 */
export function addLambdaRoutes(
  routes: LocalRoutes,
  functions: ReadonlyMap<string, LocalLambdaHandler>,
  timeoutMs: number,
): void {
  routes.add(
    'POST',
    `${LAMBDA_PATH}/2015-03-31/functions/{function}/invocations`,
    async (request): Promise<LocalResponse> => {
      const requested = request.params.function ?? '';
      // An ARN (`…:function:name`, maybe with a qualifier) or the bare name.
      const name = /:function:([^:]+)/.exec(requested)?.[1] ?? requested;
      const handler = functions.get(name);
      if (handler === undefined) {
        return lambdaError(404, 'ResourceNotFoundException', `Function not found: ${requested}`);
      }
      const invocationType = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
      if (invocationType !== 'RequestResponse') {
        return lambdaError(
          400,
          'InvalidParameterValueException',
          'the local stack only runs RequestResponse',
        );
      }
      let event: unknown;
      try {
        event = JSON.parse(request.body.length === 0 ? '{}' : request.body.toString('utf8'));
      } catch {
        return lambdaError(400, 'InvalidRequestContentException', 'Could not parse request body into json');
      }
      const started = Date.now();
      const type = (event as { type?: unknown } | null)?.type;
      try {
        const result = await handler(event, lambdaContext(name, timeoutMs));
        const action = (result as { action?: unknown } | null)?.action;
        // The answer's action only: the content stays out of the terminal as out of the logs.
        localLog.info(
          `${name} ${String(type)}: ${typeof action === 'string' ? action.slice(0, 32) : 'no action'} (${Date.now() - started} ms)`,
        );
        return {
          statusCode: 200,
          headers: { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST' },
          body: JSON.stringify(result ?? null),
        };
      } catch (error) {
        const errorType = error instanceof Error ? error.name : typeof error;
        localLog.warn(`${name} ${String(type)}: threw ${errorType} (${Date.now() - started} ms)`);
        return {
          statusCode: 200,
          headers: {
            'Content-Type': 'application/json',
            'X-Amz-Executed-Version': '$LATEST',
            'X-Amz-Function-Error': 'Unhandled',
          },
          body: JSON.stringify({
            errorType,
            errorMessage: error instanceof Error ? error.message : String(error),
            trace: [],
          }),
        };
      }
    },
  );
}

function lambdaError(statusCode: number, type: string, message: string): LocalResponse {
  const reply = json(statusCode, { Type: 'User', message });
  return { ...reply, headers: { ...reply.headers, 'x-amzn-ErrorType': type } };
}

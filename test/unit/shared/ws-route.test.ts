/**
 * The route adapter's error answers, logs and metrics: a failure of ours (`internal`) is logged at
 * error with its cause and answered with a fixed message, whatever the internal text; a refusal of the
 * client's frame is logged at info; every error answered is counted as RouteErrors{Route,Code}.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import * as z from 'zod/mini';
import type * as Errors from '../../../functions/domain/errors.ts';
import type * as RouteAnswers from '../../../functions/shared/route-answers.ts';
import type * as WsRoute from '../../../functions/shared/ws-route.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';

type Line = Record<string, unknown>;

let errors: typeof Errors;
let wsRoute: typeof WsRoute;
let answers: typeof RouteAnswers;
let stdout: MockInstance<typeof process.stdout.write>;
/** What the route under test does; each test sets it. */
let run: () => Promise<undefined>;

const frameSchema = z.object({ action: z.literal('sendMessage'), clientMessageId: z.string() });
const FRAME = { action: 'sendMessage', clientMessageId: 'm-1' };

function lines(): Line[] {
  return stdout.mock.calls.map(([chunk]) => JSON.parse(String(chunk)) as Line);
}
const logLines = () => lines().filter((line) => !('_aws' in line));
const metricLines = () => lines().filter((line) => '_aws' in line);

async function answer(frame: unknown = FRAME): Promise<{ body: string; frame: Line }> {
  const handler = wsRoute.defineRoute('sendMessage', frameSchema, () => run());
  const response = await handler(messageEvent(frame), lambdaContext);
  expect(response.statusCode).toBe(200);
  const body = response.body ?? '';
  return { body, frame: JSON.parse(body) as Line };
}

beforeAll(async () => {
  // GIVEN every log line written (the logger reads LOG_LEVEL when it is loaded) and metrics on
  vi.resetModules();
  vi.stubEnv('LOG_LEVEL', 'debug');
  errors = await import('../../../functions/domain/errors.ts');
  wsRoute = await import('../../../functions/shared/ws-route.ts');
  answers = await import('../../../functions/shared/route-answers.ts');
  vi.unstubAllEnvs();
});

beforeEach(() => {
  vi.stubEnv('PARLEY_METRICS', 'on');
  stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
});

afterEach(() => {
  stdout.mockRestore();
  vi.unstubAllEnvs();
});

describe('failures of ours: internal', () => {
  it('answers an InternalError with the fixed message, never its internal text', async () => {
    // GIVEN a domain failure whose message names internals
    const internalText = 'commit deadline passed for CONV#grp-lunch after 8000 ms (seq 42)';
    run = () => Promise.reject(new errors.InternalError(internalText));

    // WHEN
    const { body, frame } = await answer();

    // THEN
    expect(frame).toEqual({
      type: 'error',
      code: 'internal',
      message: 'the server failed; retry (with the same clientMessageId)',
      action: 'sendMessage',
      clientMessageId: 'm-1',
    });
    expect(frame.message).toBe(answers.INTERNAL_MESSAGE);
    expect(body).not.toContain('deadline');
    expect(body).not.toContain('CONV#');
  });

  it('logs an InternalError at error level, with its text, not as a refusal', async () => {
    run = () => Promise.reject(new errors.InternalError('send receipt vanished'));

    await answer();

    expect(logLines()).toEqual([
      expect.objectContaining({
        level: 'error',
        message: 'request failed',
        code: 'internal',
        error: { name: 'InternalError', message: 'send receipt vanished', code: 'internal' },
        route: 'sendMessage',
        connectionId: 'CfQ3bfF3DoECJqQ=',
        userId: 'alice',
      }),
    ]);
  });

  it('logs an unexpected error at error level with its cause, and tells the client nothing of either', async () => {
    // GIVEN an SDK-like failure wrapping a lower-level cause
    const cause = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    run = () =>
      Promise.reject(
        Object.assign(new Error('DynamoDB call failed', { cause }), { name: 'InternalServerError' }),
      );

    const { body, frame } = await answer();

    expect(frame).toMatchObject({ code: 'internal', message: answers.INTERNAL_MESSAGE });
    expect(body).not.toMatch(/socket|DynamoDB|InternalServerError/);
    expect(logLines()).toEqual([
      expect.objectContaining({
        level: 'error',
        message: 'request failed',
        code: 'internal',
        error: { name: 'InternalServerError', message: 'DynamoDB call failed' },
        cause: { name: 'TimeoutError', message: 'socket hang up' },
      }),
    ]);
  });

  it('treats a missing authorizer context as a failure of ours', async () => {
    run = () => Promise.resolve(undefined);
    const handler = wsRoute.defineRoute('sendMessage', frameSchema, () => run());
    const event = messageEvent(FRAME);
    delete event.requestContext.authorizer;

    const response = await handler(event, lambdaContext);

    expect(JSON.parse(response.body ?? '')).toMatchObject({
      code: 'internal',
      message: answers.INTERNAL_MESSAGE,
    });
    expect(response.body).not.toContain('authorizer');
    expect(logLines()).toEqual([
      expect.objectContaining({ level: 'error', message: 'request failed', code: 'internal' }),
    ]);
  });

  it('counts RouteErrors{Route, Code=internal}', async () => {
    run = () => Promise.reject(new Error('boom'));

    await answer();

    expect(metricLines()).toEqual([
      expect.objectContaining({ Route: 'sendMessage', Code: 'internal', RouteErrors: 1 }),
    ]);
    expect(metricLines()[0]?._aws).toMatchObject({
      CloudWatchMetrics: [{ Namespace: 'Parley', Dimensions: [['Route', 'Code'], ['Code']] }],
    });
  });
});

describe('refusals of the client’s frame', () => {
  it.each([
    ['forbidden', () => new errors.ForbiddenError('not a member of this conversation')],
    ['too_large', () => new errors.TooLargeError('content: more than 4000 characters')],
    ['bad_request', () => new errors.BadRequestError('to: missing or of the wrong type')],
  ] as const)('answers %s with its own message and logs it at info', async (code, error) => {
    run = () => Promise.reject(error());
    const message = error().message;

    const { frame } = await answer();

    expect(frame).toEqual({ type: 'error', code, message, action: 'sendMessage', clientMessageId: 'm-1' });
    expect(logLines()).toEqual([
      expect.objectContaining({ level: 'info', message: 'request refused', code, reason: message }),
    ]);
    expect(metricLines()).toEqual([expect.objectContaining({ Route: 'sendMessage', Code: code })]);
  });

  it('logs a frame that fails validation at info, without running the route', async () => {
    run = () => Promise.reject(new Error('must not run'));

    const { frame } = await answer({ action: 'sendMessage' });

    expect(frame).toMatchObject({ code: 'bad_request' });
    expect(logLines().map((line) => line.level)).toEqual(['info']);
    expect(metricLines()).toEqual([expect.objectContaining({ Route: 'sendMessage', Code: 'bad_request' })]);
  });
});

describe('answered frames', () => {
  it('count nothing and log one info line', async () => {
    run = () => Promise.resolve(undefined);

    await wsRoute.defineRoute('sendMessage', frameSchema, () => run())(messageEvent(FRAME), lambdaContext);

    expect(metricLines()).toEqual([]);
    expect(logLines()).toEqual([expect.objectContaining({ level: 'info', message: 'request handled' })]);
  });
});

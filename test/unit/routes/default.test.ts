/**
 * `$default`: every frame whose action selects no route. Not JSON or not an object is bad_request;
 * any object is unknown_action, echoing (a bounded prefix of) the action it named. Nothing is stored.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../functions/routes/default.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import { api, ddb, frameOf } from './route-mocks.ts';

describe('$default', () => {
  afterEach(() => {
    ddb.reset();
    api.reset();
  });

  it.each([
    ['text that is not JSON', 'hello there', 'frame is not JSON'],
    ['truncated JSON', '{"action":"sendMessage","content":"hi"', 'frame is not JSON'],
    ['an empty body', '', 'frame is not JSON'],
    ['a JSON array', '[{"action":"ping"}]', 'frame is not a JSON object'],
    ['a JSON number', '42', 'frame is not a JSON object'],
    ['JSON null', 'null', 'frame is not a JSON object'],
    ['a JSON string', '"ping"', 'frame is not a JSON object'],
    ['JSON true', 'true', 'frame is not a JSON object'],
  ])('answers %s with bad_request and no action', async (_case, body, message) => {
    // WHEN
    const response = await handler(messageEvent(body), lambdaContext);

    // THEN
    expect(frameOf(response)).toEqual({ type: 'error', code: 'bad_request', message });
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(api).not.toHaveReceivedAnyCommand();
  });

  it('answers bad_request when API Gateway passed no body at all', async () => {
    const event = messageEvent('{}');
    delete event.body;

    const response = await handler(event, lambdaContext);

    expect(frameOf(response)).toEqual({ type: 'error', code: 'bad_request', message: 'frame is not JSON' });
  });

  it.each([
    ['no action', { clientMessageId: 'm-1' }],
    ['an action that is not a string', { action: 7, clientMessageId: 'm-1' }],
    ['a null action', { action: null, clientMessageId: 'm-1' }],
  ])('answers an object with %s with unknown_action', async (_case, frame) => {
    const response = await handler(messageEvent(frame), lambdaContext);

    expect(frameOf(response)).toEqual({
      type: 'error',
      code: 'unknown_action',
      message: 'frame has no action',
      clientMessageId: 'm-1',
    });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('answers an unknown action with unknown_action, echoing the action and clientRequestId', async () => {
    // WHEN
    const response = await handler(
      messageEvent({ action: 'deleteConversation', conversationId: 'grp-lunch', clientRequestId: 'r-9' }),
      lambdaContext,
    );

    // THEN
    expect(frameOf(response)).toEqual({
      type: 'error',
      code: 'unknown_action',
      message: 'unknown action "deleteConversation"',
      action: 'deleteConversation',
      clientRequestId: 'r-9',
    });
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(api).not.toHaveReceivedAnyCommand();
  });

  it('echoes at most 64 characters of a long action', async () => {
    // GIVEN an action of 1000 characters
    const action = `${'a'.repeat(64)}${'b'.repeat(936)}`;

    const response = await handler(messageEvent({ action }), lambdaContext);

    expect(frameOf(response)).toEqual({
      type: 'error',
      code: 'unknown_action',
      message: `unknown action "${'a'.repeat(64)}"`,
      action: 'a'.repeat(64),
    });
  });

  it('does not echo a clientMessageId over 64 characters', async () => {
    const response = await handler(
      messageEvent({ action: 'edit', clientMessageId: 'x'.repeat(65) }),
      lambdaContext,
    );

    expect(frameOf(response)).toEqual({
      type: 'error',
      code: 'unknown_action',
      message: 'unknown action "edit"',
      action: 'edit',
    });
  });

  it('answers with an error, not a throw, even without an authorizer context', async () => {
    const event = messageEvent({ action: 'edit' });
    delete event.requestContext.authorizer;

    const response = await handler(event, lambdaContext);

    expect(frameOf(response)).toMatchObject({ type: 'error', code: 'unknown_action' });
  });

  describe('logs and metrics', () => {
    afterEach(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    it.each([
      ['unknown_action', { action: 'deleteConversation' }],
      ['bad_request', 'not json'],
    ])('counts a %s answer as RouteErrors{Route=$default}', async (code, frame) => {
      // GIVEN metrics written, as in Lambda
      vi.stubEnv('PARLEY_METRICS', 'on');
      const stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);

      // WHEN
      await handler(messageEvent(frame), lambdaContext);

      // THEN
      const metrics = stdout.mock.calls
        .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
        .filter((line) => '_aws' in line);
      expect(metrics).toEqual([expect.objectContaining({ Route: '$default', Code: code, RouteErrors: 1 })]);
    });

    it('logs the refusal at info, not as a failure', async () => {
      // GIVEN every log line written (the logger reads LOG_LEVEL when loaded)
      vi.stubEnv('LOG_LEVEL', 'debug');
      vi.resetModules();
      const route = await import('../../../functions/routes/default.ts');
      const stdout = vi.spyOn(process.stdout, 'write').mockReturnValue(true);

      await route.handler(messageEvent({ action: 'edit' }), lambdaContext);

      const logged = stdout.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
      expect(logged).toEqual([
        expect.objectContaining({ level: 'info', message: 'request refused', code: 'unknown_action' }),
      ]);
    });
  });
});

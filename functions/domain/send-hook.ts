/**
 * Asking the operator's send hook (integration.md, "The send hook") about a message before it is
 * stored, and what its answer means: `allow` stores the content as it is, `deny` refuses with the hook's
 * code and message, `rewrite` stores the hook's content instead, under the same content rules. Anything
 * else (no answer in time, an error, an answer that is none of those) is a failure of the hook, which the
 * deployment's `onFailure` decides: `refuse` answers `internal` (the client retries with the same
 * clientMessageId), `allow` stores the message unchanged. Every answer and every failure is counted
 * (definitions/metrics.ts), and logged without the content.
 *
 * How the hook is reached is the adapter's (functions/adapters/send-hook.ts: Lambda's Invoke, which the
 * local stack answers in process). A deployment without a hook never gets here.
 */
import {
  SEND_HOOK_DENY_CODES,
  SEND_HOOK_MESSAGE_MAX_CHARACTERS,
  type SendHookAnswer,
  type SendHookDenyCode,
  type SendHookEvent,
  type SendHookFailurePolicy,
  type SendHookFailureReason,
} from '../../definitions/send-hook.ts';
import { logger } from '../shared/logger.ts';
import { countMetric } from '../shared/metrics.ts';
import { normalizeContent } from './content.ts';
import {
  BlockedContentError,
  ForbiddenError,
  InternalError,
  type ParleyError,
  PaymentRequiredError,
} from './errors.ts';

/** The hook as the domain sees it: how to call it, and what its failures mean. */
export interface SendHook {
  readonly onFailure: SendHookFailurePolicy;
  /**
   * The hook's answer, parsed from JSON but not checked; throws SendHookCallError when there is none
   * (no answer in time, the call or the function failed, a payload that is not JSON).
   */
  call(event: SendHookEvent): Promise<unknown>;
}

/** A call that brought no answer. `detail` is for the logs: an error's type, never the event or content. */
export class SendHookCallError extends Error {
  override readonly name = 'SendHookCallError';
  readonly reason: Exclude<SendHookFailureReason, 'bad_rewrite'>;
  readonly detail: string | undefined;
  constructor(reason: SendHookCallError['reason'], detail?: string, options?: ErrorOptions) {
    super(`send hook: ${reason}${detail === undefined ? '' : ` (${detail})`}`, options);
    this.reason = reason;
    this.detail = detail;
  }
}

/**
 * The content to store: the event's, or the hook's rewrite of it. Throws the hook's refusal, or
 * `internal` when the hook failed and the deployment refuses then. `rules` are the content rules the
 * message was held to (an empty text only beside attachments), which a rewrite must meet too.
 */
export async function askSendHook(
  hook: SendHook,
  event: SendHookEvent,
  rules: { readonly allowEmpty: boolean },
): Promise<string> {
  let answer: unknown;
  try {
    answer = await hook.call(event);
  } catch (error) {
    if (!(error instanceof SendHookCallError)) throw error;
    return failed(hook, event, error.reason, error.detail);
  }
  const decision = decisionOf(answer);
  if (decision === undefined) return failed(hook, event, 'malformed', describe(answer));
  if (decision.action === 'rewrite') {
    let content: string;
    try {
      content = normalizeContent(decision.content, { allowEmpty: rules.allowEmpty });
    } catch {
      // Over 4000 characters, or nothing left: not content the message may have.
      return failed(hook, event, 'bad_rewrite', undefined);
    }
    counted(event, 'rewrite');
    return content;
  }
  counted(event, decision.action);
  if (decision.action === 'allow') return event.content;
  throw refusal(decision.code, decision.message);
}

/** The answer, when it is one of the three the contract names; undefined for anything else. */
function decisionOf(answer: unknown): SendHookAnswer | undefined {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return undefined;
  const fields = answer as Record<string, unknown>;
  switch (fields.action) {
    case 'allow':
      return { action: 'allow' };
    case 'rewrite':
      return typeof fields.content === 'string' ? { action: 'rewrite', content: fields.content } : undefined;
    case 'deny': {
      const { code, message } = fields;
      if (!isDenyCode(code) || typeof message !== 'string' || message.trim() === '') return undefined;
      return { action: 'deny', code, message };
    }
    default:
      return undefined;
  }
}

const isDenyCode = (code: unknown): code is SendHookDenyCode =>
  (SEND_HOOK_DENY_CODES as readonly unknown[]).includes(code);

/**
 * The error frame's code and the hook's message, cut to a size an error frame can carry. The logs
 * get the code only: the hook's words may quote the message they refuse.
 */
function refusal(code: SendHookDenyCode, message: string): ParleyError {
  const text = [...message.trim()].slice(0, SEND_HOOK_MESSAGE_MAX_CHARACTERS).join('');
  const options = { logReason: `the send hook refused it (${code})` };
  switch (code) {
    case 'payment_required':
      return new PaymentRequiredError(text, options);
    case 'blocked_content':
      return new BlockedContentError(text, options);
    case 'forbidden':
      return new ForbiddenError(text, options);
  }
}

/** What `onFailure` says: `internal` (nothing stored), or the content as the sender wrote it. */
function failed(
  hook: SendHook,
  event: SendHookEvent,
  reason: SendHookFailureReason,
  detail: string | undefined,
): string {
  countMetric('SendHookFailures', { Reason: reason });
  logger.warn('send hook failed', {
    reason,
    ...(detail === undefined ? {} : { detail }),
    event: event.type,
    onFailure: hook.onFailure,
  });
  if (hook.onFailure === 'refuse') throw new InternalError(`the send hook failed: ${reason}`);
  return event.content;
}

function counted(event: SendHookEvent, answer: SendHookAnswer['action']): void {
  countMetric('SendHookAnswers', { Event: event.type, Answer: answer });
}

/** A malformed answer's shape for the logs: its type and action, never its text. */
function describe(answer: unknown): string {
  if (answer === null) return 'null';
  if (Array.isArray(answer)) return 'an array';
  if (typeof answer !== 'object') return typeof answer;
  const action = (answer as Record<string, unknown>).action;
  return typeof action === 'string' ? `action ${JSON.stringify(action.slice(0, 32))}` : 'no action';
}

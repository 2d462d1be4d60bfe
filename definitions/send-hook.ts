/**
 * The send hook of integration.md: a function of the operator's that Parley asks before it stores a
 * `sendMessage` or an `editMessage` (credits, matches, word filters, a moderation service). Its event
 * and answer, its settings and the ways a call can fail, described once: the handlers
 * (functions/domain/send-hook.ts, functions/adapters/send-hook.ts), the CDK stack (lib/config.ts), the
 * local stack (`npm start -- --send-hook`), the example hook (examples/send-hook/) and the tests all
 * read them from here.
 */
import type { ErrorCode } from './error-codes.ts';

/** What Parley asks the hook about: a new message, or the new content of an edited one. */
export const SEND_HOOK_EVENT_TYPES = ['sendMessage', 'editMessage'] as const;
export type SendHookEventType = (typeof SEND_HOOK_EVENT_TYPES)[number];

export interface SendHookAttachment {
  readonly contentType: string;
  /** Bytes. */
  readonly size: number;
}

/** The event the hook is invoked with (integration.md, "Event"). */
export interface SendHookEvent {
  readonly type: SendHookEventType;
  readonly senderId: string;
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  /** Every member, the sender included; for a first direct message, the two users it will have. */
  readonly members: readonly string[];
  /** The message's own: for an edit, the edited message's (so a charge keyed by it is not made twice). */
  readonly clientMessageId: string;
  /** `editMessage` only: the edited message's `seq`. */
  readonly seq?: number;
  /** As it would be stored: trimmed, 1–4000 characters (empty only beside attachments). */
  readonly content: string;
  readonly attachments: readonly SendHookAttachment[];
  /** The `seq` the message replies to (protocol.md 1.2); `null`: this Parley does not take replies yet. */
  readonly replyTo: number | null;
  /** The members it mentions (protocol.md 1.2); always empty: this Parley does not take mentions yet. */
  readonly mentions: readonly string[];
}

/** The codes a hook may refuse with; the error frame carries the code and the hook's `message`. */
export const SEND_HOOK_DENY_CODES = [
  'payment_required',
  'blocked_content',
  'forbidden',
] as const satisfies readonly ErrorCode[];
export type SendHookDenyCode = (typeof SEND_HOOK_DENY_CODES)[number];

/** The hook's answer (integration.md, "Answer"). Anything else is a failure of the hook. */
export type SendHookAnswer =
  | { readonly action: 'allow' }
  | { readonly action: 'deny'; readonly code: SendHookDenyCode; readonly message: string }
  | { readonly action: 'rewrite'; readonly content: string };

/** The handler a hook module exports, deployed (a Lambda function) and locally (`--send-hook`) alike. */
export type SendHookHandler = (event: SendHookEvent) => Promise<SendHookAnswer> | SendHookAnswer;

export type SendHookAnswerAction = SendHookAnswer['action'];
export const SEND_HOOK_ANSWERS = [
  'allow',
  'deny',
  'rewrite',
] as const satisfies readonly SendHookAnswerAction[];

/**
 * How a call can fail, the `Reason` of the `SendHookFailures` metric: no answer in time; the Invoke
 * call itself failed (throttled, not allowed, no such function); the function failed (threw, ran out of
 * its own time or memory); an answer that is none of the three (not JSON, another action, a deny
 * without its code or message); a rewrite that is not content (over 4000 characters, or empty).
 */
export const SEND_HOOK_FAILURES = [
  'timeout',
  'invoke_failed',
  'function_error',
  'malformed',
  'bad_rewrite',
] as const;
export type SendHookFailureReason = (typeof SEND_HOOK_FAILURES)[number];

/**
 * What a failed call means for the message: `refuse` answers `internal` (the client retries with the
 * same clientMessageId), `allow` stores it unchanged.
 */
export const SEND_HOOK_FAILURE_POLICIES = ['refuse', 'allow'] as const;
export type SendHookFailurePolicy = (typeof SEND_HOOK_FAILURE_POLICIES)[number];

/** A deployment's hook: the CDK stack's `sendHook` prop, with its defaults applied. */
export interface SendHookSettings {
  /** The Lambda function (or a version or alias of it) Parley invokes. */
  readonly functionArn: string;
  readonly timeoutMs: number;
  readonly onFailure: SendHookFailurePolicy;
}

export const SEND_HOOK_DEFAULTS = { timeoutMs: 1_000, onFailure: 'refuse' } as const satisfies Omit<
  SendHookSettings,
  'functionArn'
>;

/**
 * `timeoutMs` bounds. Every send and edit waits for the hook, so a few seconds is already long; the
 * send and edit functions' own timeout grows by it (lib/parley-stack.ts), so the commit that follows
 * keeps its time.
 */
export const SEND_HOOK_TIMEOUT_BOUNDS = { min: 100, max: 5_000 } as const;

/** A `message` of a deny longer than this is cut: an error frame stays small (the hook's text is for people). */
export const SEND_HOOK_MESSAGE_MAX_CHARACTERS = 1_000;

/** Where each setting comes from: the handlers' environment, CDK context, `npm start` flags. */
export const SEND_HOOK_ENV = {
  functionArn: 'SEND_HOOK_ARN',
  timeoutMs: 'SEND_HOOK_TIMEOUT_MS',
  onFailure: 'SEND_HOOK_ON_FAILURE',
} as const satisfies Record<keyof SendHookSettings, string>;

export const SEND_HOOK_CONTEXT = {
  functionArn: 'sendHookArn',
  timeoutMs: 'sendHookTimeoutMs',
  onFailure: 'sendHookOnFailure',
} as const satisfies Record<keyof SendHookSettings, string>;

/** A Lambda function ARN, unqualified or with a version or alias. */
export const LAMBDA_FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;

/**
 * The settings, checked, with their defaults: one set of rules for CDK props and context
 * (lib/config.ts) and for the handlers' environment (functions/adapters/send-hook.ts). `timeoutMs` may
 * be text (context and environment are); `names` says where each value came from, for the message of
 * the error `refuse` makes. An ARN that is a CDK token (another construct's) is checked by CloudFormation.
 */
export function checkSendHookSettings(
  given: { readonly functionArn: string; readonly timeoutMs?: number | string; readonly onFailure?: string },
  names: Readonly<Record<keyof SendHookSettings, string>>,
  refuse: (message: string) => Error,
  options: { readonly arnIsToken?: boolean } = {},
): SendHookSettings {
  const { functionArn } = given;
  if (options.arnIsToken !== true && !LAMBDA_FUNCTION_ARN.test(functionArn)) {
    throw refuse(
      `${names.functionArn} must be a Lambda function ARN (arn:aws:lambda:{region}:{account}:function:{name}), got "${functionArn}"`,
    );
  }
  const timeoutMs = Number(given.timeoutMs ?? SEND_HOOK_DEFAULTS.timeoutMs);
  const { min, max } = SEND_HOOK_TIMEOUT_BOUNDS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < min || timeoutMs > max) {
    throw refuse(
      `${names.timeoutMs} must be a whole number of milliseconds from ${min} to ${max}, got "${given.timeoutMs}"`,
    );
  }
  const onFailure = given.onFailure ?? SEND_HOOK_DEFAULTS.onFailure;
  if (!isFailurePolicy(onFailure)) {
    throw refuse(
      `${names.onFailure} must be one of ${SEND_HOOK_FAILURE_POLICIES.join(', ')}, got "${onFailure}"`,
    );
  }
  return { functionArn, timeoutMs, onFailure };
}

const isFailurePolicy = (value: string): value is SendHookFailurePolicy =>
  (SEND_HOOK_FAILURE_POLICIES as readonly string[]).includes(value);

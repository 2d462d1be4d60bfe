/**
 * An example send hook (integration.md, "The send hook"; README.md beside this file says how to run it):
 * a word and link filter, then one credit per new message.
 *
 * - Content with a blocked word or a link is refused with `blocked_content`, for sends and edits alike,
 *   before anything is charged.
 * - A new message costs one credit, charged once per (senderId, clientMessageId) (credits.ts). Out of
 *   credits, it is refused with `payment_required` and a message the app can show as it is.
 * - An edit costs nothing: it carries the edited message's clientMessageId, which paid already.
 *
 * Settings, read when the module loads: `EXAMPLE_HOOK_CREDITS`, every user's starting balance (default
 * 100); `EXAMPLE_HOOK_BLOCKED_WORDS`, comma-separated (default a few placeholders).
 *
 * The same module runs locally (`npm start -- --send-hook examples/send-hook/hook.ts`) and deployed as a
 * Lambda function (bundled with its two neighbours; the import below is of types only).
 */
import type { SendHookHandler } from '../../definitions/send-hook.ts';
import { contentFilter } from './content-filter.ts';
import { Credits } from './credits.ts';

const DEFAULT_CREDITS = 100;
const DEFAULT_BLOCKED_WORDS = ['spam', 'scam', 'idiot'];

function startingCredits(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_CREDITS;
  const credits = Number(raw);
  if (!Number.isInteger(credits) || credits < 0) {
    throw new Error(`EXAMPLE_HOOK_CREDITS must be a whole number of credits, got "${raw}"`);
  }
  return credits;
}

const blockedWords = process.env.EXAMPLE_HOOK_BLOCKED_WORDS?.split(',') ?? DEFAULT_BLOCKED_WORDS;
const check = contentFilter(blockedWords);

/** Every user's balance in this process (exported for the tests and for a local top-up). */
export const credits = new Credits(startingCredits(process.env.EXAMPLE_HOOK_CREDITS));

/** What the user is told. Never the content itself: Parley logs a refusal's code, and apps show the text. */
export const MESSAGES = {
  link: 'Links are not allowed in messages.',
  word: 'This message contains a word that is not allowed here.',
  noCredits: 'You have used all your message credits. Buy more credits to keep chatting.',
} as const;

export const handler: SendHookHandler = async (event) => {
  const verdict = check(event.content);
  if (!verdict.allowed) {
    return { action: 'deny', code: 'blocked_content', message: MESSAGES[verdict.why] };
  }
  if (event.type === 'editMessage') return { action: 'allow' };
  const charge = credits.charge(event.senderId, event.clientMessageId);
  if (charge.outcome === 'insufficient') {
    return { action: 'deny', code: 'payment_required', message: MESSAGES.noCredits };
  }
  return { action: 'allow' };
};

/**
 * The example send hook (examples/send-hook/): its word and link filter, its credits (one per new
 * message, charged once per (senderId, clientMessageId)), and its handler's answers as integration.md
 * shapes them. test/e2e/send-hook.test.ts runs it in the local stack.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SendHookAnswer, SendHookEvent } from '../../../definitions/send-hook.ts';
import { contentFilter } from '../../../examples/send-hook/content-filter.ts';
import { Credits } from '../../../examples/send-hook/credits.ts';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('the content filter', () => {
  const check = contentFilter(['spam', 'scam']);

  it.each([
    'Buy cheap SPAM now',
    'this is a scam!',
    'Ｓｐａｍ in full width',
    'spám with an accent',
  ])('refuses a blocked word however it is written: %s', (content) => {
    expect(check(content)).toEqual({ allowed: false, why: 'word' });
  });

  it.each([
    'scampi for lunch?',
    'a classic spammer-free chat',
    'node.js and e.g. vue.js are fine',
    'meet at 12.30',
  ])('lets through words that only contain one, and dots that are no link: %s', (content) => {
    expect(check(content)).toEqual({ allowed: true });
  });

  it.each([
    'see https://example.org/offer',
    'go to www.cheap-things.biz',
    'example.com/free',
    'write to me at someone@mail.com',
    'HTTP://SHOUTING.NET',
  ])('refuses a link: %s', (content) => {
    expect(check(content)).toEqual({ allowed: false, why: 'link' });
  });
});

describe('credits', () => {
  it('charges one credit per (senderId, clientMessageId), once', () => {
    const credits = new Credits(3);
    expect(credits.charge('alice', 'c-1')).toEqual({ outcome: 'charged', balance: 2 });
    expect(credits.charge('alice', 'c-1')).toEqual({ outcome: 'already_charged', balance: 2 });
    expect(credits.charge('alice', 'c-2')).toEqual({ outcome: 'charged', balance: 1 });
    // The same clientMessageId from someone else is another message.
    expect(credits.charge('bob', 'c-1')).toEqual({ outcome: 'charged', balance: 2 });
    expect(credits.balance('alice')).toBe(1);
  });

  it('refuses when none is left, charging nothing, and charges that message once credits are bought', () => {
    const credits = new Credits(1);
    credits.charge('alice', 'c-1');
    expect(credits.charge('alice', 'c-2')).toEqual({ outcome: 'insufficient', balance: 0 });
    expect(credits.balance('alice')).toBe(0);
    expect(credits.topUp('alice', 5)).toBe(5);
    expect(credits.charge('alice', 'c-2')).toEqual({ outcome: 'charged', balance: 4 });
  });

  it('refuses a starting balance that is not a whole number of credits', () => {
    expect(() => new Credits(-1)).toThrow(/whole number/);
    expect(() => new Credits(1.5)).toThrow(/whole number/);
  });
});

describe('the hook', () => {
  /** The module as the local stack loads it, with this environment. */
  async function loadHook(env: Record<string, string>) {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    return import('../../../examples/send-hook/hook.ts');
  }

  const event = (fields: Partial<SendHookEvent>): SendHookEvent => ({
    type: 'sendMessage',
    senderId: 'alice',
    conversationId: 'dm_alice_bob',
    kind: 'direct',
    members: ['alice', 'bob'],
    clientMessageId: 'c-1',
    content: 'hello',
    attachments: [],
    replyTo: null,
    mentions: [],
    ...fields,
  });

  it('allows while credits last, then refuses with payment_required and a message for people', async () => {
    const hook = await loadHook({ EXAMPLE_HOOK_CREDITS: '2' });
    expect(await hook.handler(event({ clientMessageId: 'c-1' }))).toEqual({ action: 'allow' });
    expect(await hook.handler(event({ clientMessageId: 'c-2' }))).toEqual({ action: 'allow' });
    expect(await hook.handler(event({ clientMessageId: 'c-3' }))).toEqual<SendHookAnswer>({
      action: 'deny',
      code: 'payment_required',
      message: hook.MESSAGES.noCredits,
    });
    expect(hook.MESSAGES.noCredits).toMatch(/credits/);
  });

  it('allows a pair it charged again without charging it twice', async () => {
    const hook = await loadHook({ EXAMPLE_HOOK_CREDITS: '1' });
    expect(await hook.handler(event({ clientMessageId: 'c-1' }))).toEqual({ action: 'allow' });
    // The commit after that answer failed; the client's retry reaches the hook with the same pair.
    expect(await hook.handler(event({ clientMessageId: 'c-1' }))).toEqual({ action: 'allow' });
    expect(hook.credits.balance('alice')).toBe(0);
  });

  it('refuses blocked content with blocked_content, without quoting it, and charges nothing', async () => {
    const hook = await loadHook({ EXAMPLE_HOOK_CREDITS: '5', EXAMPLE_HOOK_BLOCKED_WORDS: 'darn,heck' });
    const word = await hook.handler(event({ content: 'oh DARN it' }));
    const link = await hook.handler(event({ content: 'see www.example.com' }));
    expect(word).toEqual({ action: 'deny', code: 'blocked_content', message: hook.MESSAGES.word });
    expect(link).toEqual({ action: 'deny', code: 'blocked_content', message: hook.MESSAGES.link });
    expect(JSON.stringify([word, link])).not.toMatch(/darn|example/i);
    expect(hook.credits.balance('alice')).toBe(5);
  });

  it('filters edits but never charges them (the edited message paid already)', async () => {
    const hook = await loadHook({ EXAMPLE_HOOK_CREDITS: '0' });
    expect(await hook.handler(event({ type: 'editMessage', seq: 3, content: 'better words' }))).toEqual({
      action: 'allow',
    });
    expect(await hook.handler(event({ type: 'editMessage', seq: 3, content: 'spam' }))).toMatchObject({
      code: 'blocked_content',
    });
  });

  it('refuses a starting balance that is not a number when it loads', async () => {
    await expect(loadHook({ EXAMPLE_HOOK_CREDITS: 'lots' })).rejects.toThrow(/EXAMPLE_HOOK_CREDITS/);
  });
});

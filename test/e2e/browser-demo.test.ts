/**
 * The demo chat page (local/demo/) in headless Chromium against the local stack as `npm start` runs it:
 * two users in two browser contexts exchange messages and see typing, delivery and read marks and
 * presence; one closes the page, gets a push, comes back and catches up; messages are edited, reacted
 * to and deleted, and a photo sent, each seen by the other side. Also what the page is served
 * with, and the dev-token endpoint. Waits on DOM state only (Playwright's auto-waiting locators).
 *
 * Uses the system's Chromium (Debian's `chromium`; `CHROMIUM_PATH` overrides): playwright-core
 * downloads no browser. Screenshots go to test/artifacts/ (git-ignored).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');
/** Each DOM expectation waits up to this long; the stream-driven delivery usually takes well under 1 s. */
const WAIT_MS = 20_000;
const VIEWPORT = { width: 1100, height: 720 };

let stack: LocalStackProcess;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH`,
    );
  }
  stack = await startLocalStackProcess();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

interface UserPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Uncaught exceptions and console errors (a CSP violation is one). */
  readonly errors: string[];
}

/** A fresh browser context (its own storage, like another person's browser), logged in as `userId`. */
async function openAs(userId: string): Promise<UserPage> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`${userId}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${userId}: ${message.text()}`);
  });
  await page.goto(`${stack.httpUrl}/`);
  await page.getByLabel('User id', { exact: true }).fill(userId);
  await page.getByRole('button', { name: 'Start chatting' }).click();
  await page.locator('[data-testid=connection-state][data-state=open]').waitFor();
  return { context, page, errors };
}

const conversationWith = (page: Page, name: string) =>
  page.locator(`[data-testid=conversation][data-name="${name}"]`);
const message = (page: Page, text: string) => page.getByTestId('message').filter({ hasText: text });
const markOn = (page: Page, text: string, mark: string) =>
  message(page, text).locator(`[data-testid=mark][data-mark=${mark}]`);

async function send(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

describe('the demo page in Chromium', () => {
  it('two users chat, see typing, receipts and presence; an offline one gets a push and catches up', async () => {
    // GIVEN alice logged in, writing to bob before bob has ever connected
    const alice = await openAs('alice');
    const { page: a } = alice;
    await expect(a.getByTestId('me').textContent()).resolves.toBe('alice');
    await a.getByLabel('With (user ids, comma-separated)').fill('bob');
    await a.getByRole('button', { name: 'Start', exact: true }).click();
    const markup = 'Hi Bob <b>not bold</b> <img src=x onerror="document.title=1">';
    await send(a, markup);
    await markOn(a, 'Hi Bob', 'sent').waitFor();
    await conversationWith(a, 'bob').waitFor();

    // WHEN bob logs in: the conversation is there, unread
    const bob = await openAs('bob');
    const { page: b } = bob;
    await conversationWith(b, 'alice').and(b.locator('[data-unread="1"]')).waitFor();

    // THEN opening the conversation reads it, and the markup is shown as text, never as HTML
    await conversationWith(b, 'alice').click();
    await message(b, 'Hi Bob').waitFor();
    expect(await message(b, 'Hi Bob').getByTestId('message-content').textContent()).toBe(markup);
    expect(await b.getByTestId('messages').locator('b, img').count()).toBe(0);
    await conversationWith(b, 'alice').and(b.locator('[data-unread="0"]')).waitFor();

    // WHEN bob answers: both have written, so presence and receipts pass between them from now on
    // (protocol 1.2, consent), and alice sees him online
    await send(b, 'Hi Alice');
    await message(a, 'Hi Alice').waitFor();
    await conversationWith(a, 'bob').locator('[data-testid=presence][data-status=online]').waitFor();

    // AND alice writes again while bob has the conversation open: read, her first message too
    await send(a, 'Second one');
    await message(b, 'Second one').waitFor();
    await markOn(a, 'Second one', 'read').waitFor();
    await markOn(a, 'Hi Bob', 'read').waitFor();
    await conversationWith(b, 'alice').and(b.locator('[data-unread="0"]')).waitFor();

    // WHEN bob types, alice sees it; when he sends, the line goes and alice (reading) marks it read
    await b.getByLabel('Message', { exact: true }).pressSequentially('Hello Al');
    await a.getByTestId('typing').filter({ hasText: 'bob is typing…' }).waitFor();
    await b.getByLabel('Message', { exact: true }).pressSequentially('ice!');
    await b.getByLabel('Message', { exact: true }).press('Enter');
    await message(a, 'Hello Alice!').waitFor();
    await a.locator('[data-testid=typing]:empty').waitFor({ state: 'attached' });
    await markOn(b, 'Hello Alice!', 'read').waitFor();

    // WHEN bob closes his page: alice sees him offline, and what she sends now becomes a push
    await bob.context.close();
    await conversationWith(a, 'bob').locator('[data-testid=presence][data-status=offline]').waitFor();
    await send(a, 'Are you still there?');
    await markOn(a, 'Are you still there?', 'sent').waitFor();
    const push = a
      .locator('[data-testid=push][data-user-id=bob]')
      .filter({ hasText: 'Are you still there?' });
    await push.waitFor();
    expect(await push.textContent()).toContain('demo-bob');

    // THEN bob comes back in a new browser, catches up, and has every message exactly once
    const back = await openAs('bob');
    const { page: b2 } = back;
    await conversationWith(b2, 'alice').and(b2.locator('[data-unread="1"]')).waitFor();
    await conversationWith(b2, 'alice').click();
    await message(b2, 'Are you still there?').waitFor();
    await markOn(a, 'Are you still there?', 'read').waitFor();
    for (const text of ['Hi Bob', 'Hi Alice', 'Second one', 'Hello Alice!', 'Are you still there?']) {
      expect(await message(b2, text).count(), text).toBe(1);
    }
    expect(await b2.getByTestId('message').count()).toBe(5);
    await conversationWith(a, 'bob').locator('[data-testid=presence][data-status=online]').waitFor();

    await saveScreenshots(a, b2);
    expect([...alice.errors, ...bob.errors, ...back.errors]).toEqual([]);
    for (const page of [a, b2]) expect(await page.getByTestId('chat-error').textContent()).toBe('');
    await Promise.all([alice.context.close(), back.context.close()]);
  });
});

describe('changing messages in the demo page', () => {
  it('edits, reacts to and deletes a message; the other side sees each change live and after a reload', async () => {
    // GIVEN dave and erin in a direct conversation, both with it open
    const dave = await openAs('dave');
    const { page: d } = dave;
    await d.getByLabel('With (user ids, comma-separated)').fill('erin');
    await d.getByRole('button', { name: 'Start', exact: true }).click();
    await send(d, 'Helo Erin');
    await markOn(d, 'Helo Erin', 'sent').waitFor();
    await send(d, 'Delete me');
    await markOn(d, 'Delete me', 'sent').waitFor();
    const erin = await openAs('erin');
    const { page: e } = erin;
    await conversationWith(e, 'dave').click();
    await message(e, 'Delete me').waitFor();

    // WHEN dave edits his first message: both see the new text, marked edited
    await message(d, 'Helo Erin').getByRole('button', { name: 'Edit' }).click();
    await d.getByTestId('editing').waitFor();
    await d.getByLabel('Message', { exact: true }).fill('Hello Erin');
    await d.getByLabel('Message', { exact: true }).press('Enter');
    for (const page of [d, e]) {
      await message(page, 'Hello Erin').getByTestId('edited').waitFor();
      expect(await message(page, 'Helo Erin').count()).toBe(0);
    }

    // AND erin reacts to it: both see the count, erin's button pressed
    await message(e, 'Hello Erin').locator('[data-testid=reaction][data-emoji="👍"]').click();
    await message(e, 'Hello Erin')
      .locator('[data-testid=reaction][data-emoji="👍"][data-count="1"][aria-pressed=true]')
      .waitFor();
    await message(d, 'Hello Erin')
      .locator('[data-testid=reaction][data-emoji="👍"][data-count="1"][aria-pressed=false]')
      .waitFor();
    // Only the sender can edit or delete
    expect(await message(e, 'Hello Erin').getByRole('button', { name: 'Edit' }).count()).toBe(0);

    // AND dave deletes his second message: both see a tombstone in its place
    await message(d, 'Delete me').getByRole('button', { name: 'Delete' }).click();
    for (const page of [d, e]) {
      await page.locator('[data-testid=message][data-seq="2"] [data-testid=tombstone]').waitFor();
      expect(await message(page, 'Delete me').count()).toBe(0);
    }

    // THEN a reload (a fresh client that syncs) shows erin the same: edited text, reaction, tombstone
    await e.reload();
    await e.locator('[data-testid=connection-state][data-state=open]').waitFor();
    await conversationWith(e, 'dave').click();
    await message(e, 'Hello Erin').getByTestId('edited').waitFor();
    await message(e, 'Hello Erin')
      .locator('[data-testid=reaction][data-emoji="👍"][data-count="1"][aria-pressed=true]')
      .waitFor();
    await e.locator('[data-testid=message][data-seq="2"] [data-testid=tombstone]').waitFor();
    expect(await e.getByTestId('message').count()).toBe(2);

    expect([...dave.errors, ...erin.errors]).toEqual([]);
    for (const page of [d, e]) expect(await page.getByTestId('chat-error').textContent()).toBe('');
    await Promise.all([dave.context.close(), erin.context.close()]);
  });
});

/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** Waits until the image of a message has loaded (a URL that fails leaves naturalWidth at 0). */
async function imageLoaded(page: Page, text: string): Promise<string> {
  const image = message(page, text).getByTestId('attachment-image');
  await image.waitFor();
  await image.evaluate(
    (element: HTMLImageElement) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (element.complete && element.naturalWidth > 0) resolve();
          else if (element.complete) reject(new Error(`the image did not load: ${element.src}`));
        };
        element.addEventListener('load', check);
        element.addEventListener('error', () => reject(new Error(`the image did not load: ${element.src}`)));
        check();
      }),
  );
  return (await image.getAttribute('src')) ?? '';
}

describe('photos in the demo page', () => {
  it('uploads a photo and sends it with a caption; both sides show the image from its link', async () => {
    // GIVEN frank and gina in a direct conversation, both with it open
    const frank = await openAs('frank');
    const { page: f } = frank;
    await f.getByLabel('With (user ids, comma-separated)').fill('gina');
    await f.getByRole('button', { name: 'Start', exact: true }).click();
    await send(f, 'Photo coming');
    await markOn(f, 'Photo coming', 'sent').waitFor();
    const gina = await openAs('gina');
    const { page: g } = gina;
    await conversationWith(g, 'frank').click();
    await message(g, 'Photo coming').waitFor();

    // WHEN frank picks a photo with a caption in the composer
    await f.getByLabel('Message', { exact: true }).fill('Our cat');
    await f.getByLabel('Send a photo').setInputFiles({ name: 'cat.png', mimeType: 'image/png', buffer: PNG });

    // THEN both see the message with the image, loaded from the attachment's (presigned) URL
    const seenByGina = await imageLoaded(g, 'Our cat');
    await imageLoaded(f, 'Our cat');
    expect(await message(g, 'Our cat').getByTestId('message-content').textContent()).toBe('Our cat');
    const download = await fetch(seenByGina);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG)).toBe(true);

    expect([...frank.errors, ...gina.errors]).toEqual([]);
    for (const page of [f, g]) expect(await page.getByTestId('chat-error').textContent()).toBe('');
    await Promise.all([frank.context.close(), gina.context.close()]);
  });
});

/** `demo-alice.png`, `demo-bob.png`, and both side by side in `demo.png` (composed in a blank page). */
async function saveScreenshots(alice: Page, bob: Page): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  const files = [join(ARTIFACTS, 'demo-alice.png'), join(ARTIFACTS, 'demo-bob.png')];
  await alice.screenshot({ path: files[0] });
  await bob.screenshot({ path: files[1] });
  const images = await Promise.all(files.map(async (file) => (await readFile(file)).toString('base64')));
  const context = await browser.newContext({
    viewport: { width: VIEWPORT.width * 2 + 16, height: VIEWPORT.height },
  });
  try {
    const page = await context.newPage();
    await page.setContent(
      `<body style="margin:0;display:flex;gap:16px;background:#888">${images
        .map((data) => `<img src="data:image/png;base64,${data}" width="${VIEWPORT.width}">`)
        .join('')}</body>`,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'demo.png') });
  } finally {
    await context.close();
  }
}

describe('how the demo is served', () => {
  it('serves the page, its script and stylesheet with a strict policy, and 426 elsewhere', async () => {
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/demo/app.js', 'text/javascript'],
      ['/demo/style.css', 'text/css'],
    ] as const) {
      const response = await fetch(`${stack.httpUrl}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toContain(type);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('content-security-policy'), path).toContain("default-src 'self'");
      expect(response.headers.get('content-security-policy'), path).toContain("script-src 'self'");
    }
    expect((await fetch(`${stack.httpUrl}/demo/nothing.js`)).status).toBe(426);
    expect((await fetch(`${stack.httpUrl}/`, { method: 'POST' })).status).toBe(426);
  });

  it('signs a development token for a valid user id and refuses a bad one', async () => {
    const ask = (body: unknown) =>
      fetch(`${stack.httpUrl}/_local/dev-token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await ask({ userId: 'carol', name: 'Carol' });
    expect(ok.status).toBe(200);
    const { token, userId } = (await ok.json()) as { token: string; userId: string };
    expect(userId).toBe('carol');
    expect(decodeJwt(token)).toMatchObject({ sub: 'carol', name: 'Carol', jti: expect.any(String) });
    expect((await ask({ userId: 'not valid!' })).status).toBe(400);
    expect((await ask({ userId: 'x'.repeat(65) })).status).toBe(400);
    expect((await ask(['carol'])).status).toBe(400);
  });
});

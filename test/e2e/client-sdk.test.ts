/**
 * The SDK in Node against the local stack, on Node's standard WebSocket with the token in the
 * subprotocol: the sender's socket is cut without a close frame (`/_local/users/{id}/drop`) while 20
 * sends are in flight and queued, and every one ends stored once, seen once by the recipient, in the
 * order written within each conversation; a recipient offline for 50 messages in 3 conversations
 * catches up exactly once on reconnect. And the upgrade's refusals, on the `ws` package (which, unlike
 * browsers, reports the HTTP status): a 401 gets one fresh token, a 403 (deactivated) is final. And
 * protocol 1.1 through the SDK: edits, reactions, a deletion and a photo reach the other member as a
 * fresh sync would give them; a member who leaves a group drops it, the others see the new members.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Message, ParleyClient, type StateChange } from '../../client/src/index.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { DEFAULT_JWT_SECRET } from '../../local/jwt-secret.ts';
import { localToken } from './support/tokens.ts';

/** A 1×1 PNG, written at start, that hal uploads as a photo. */
const PNG_PATH = join(tmpdir(), 'parley-sdk-e2e.png');

let stack: LocalStackProcess;
const clients: ParleyClient[] = [];

beforeAll(async () => {
  await writeFile(
    PNG_PATH,
    Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    ),
  );
  stack = await startLocalStackProcess();
});

afterAll(async () => {
  for (const client of clients) client.close();
  await stack?.stop();
});

function sdk(userId: string): ParleyClient {
  const client = new ParleyClient({
    url: `${stack.url}/`,
    token: () => localToken(userId),
    // Short back-off: the test waits for reconnects, it does not measure them.
    backoff: { initialMs: 50, maxMs: 500 },
  });
  clients.push(client);
  return client;
}

/** Resolves once `predicate` holds, checked after every event of the client. */
function until(client: ParleyClient, predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const events = ['message', 'state', 'sent', 'conversations', 'messageUpdated', 'conversation'] as const;
    const offs: (() => void)[] = [];
    const check = () => {
      if (!predicate()) return;
      for (const off of offs) off();
      resolve();
    };
    for (const event of events) offs.push(client.on(event, check));
    check();
  });
}

function collect(client: ParleyClient): Message[] {
  const seen: Message[] = [];
  client.on('message', (message) => seen.push(message));
  return seen;
}

function byConversationOf(messages: Message[], key: (m: Message) => string): Map<string, Message[]> {
  const groups = new Map<string, Message[]>();
  for (const message of messages) groups.set(key(message), [...(groups.get(key(message)) ?? []), message]);
  return groups;
}

async function open(client: ParleyClient): Promise<void> {
  client.connect();
  await until(client, () => client.state === 'open');
}

async function dropUser(userId: string): Promise<string[]> {
  const response = await fetch(`${stack.httpUrl}/_local/users/${userId}/drop`, { method: 'POST' });
  expect(response.status).toBe(200);
  return ((await response.json()) as { dropped: string[] }).dropped;
}

describe('the SDK changing messages and conversations (protocol 1.1)', () => {
  it('edits, reacts, deletes and sends a photo; the other side holds what a fresh sync gives', async () => {
    const hal = sdk('hal');
    const ivy = sdk('ivy');
    await Promise.all([open(hal), open(ivy)]);
    const first = await hal.send({ to: 'ivy' }, 'frist');
    const second = await hal.send({ to: 'ivy' }, 'to be deleted');
    const { conversationId } = first;
    await until(ivy, () => ivy.heldSeq(conversationId) === 2);

    await hal.editMessage(conversationId, first.seq, 'first');
    await ivy.react(conversationId, first.seq, '👍');
    await hal.deleteMessage(conversationId, second.seq);
    const bytes = new Uint8Array(await readFile(PNG_PATH));
    const uploadId = await hal.uploadAttachment(bytes, 'image/png');
    const photo = await hal.send({ conversationId }, '', { attachments: [{ uploadId }] });
    expect(photo.attachments).toHaveLength(1);

    const settled = (client: ParleyClient) =>
      client.message(conversationId, 1)?.content === 'first' &&
      client.message(conversationId, 1)?.reactions?.['👍']?.length === 1 &&
      client.message(conversationId, 2)?.deleted === true &&
      client.message(conversationId, 3) !== undefined;
    await until(ivy, () => settled(ivy));
    await until(hal, () => settled(hal));
    const live = ivy.messages(conversationId);
    expect(live[0]).toMatchObject({
      content: 'first',
      editedAt: expect.any(String),
      reactions: { '👍': ['ivy'] },
    });
    expect(live[1]).toMatchObject({ content: '', deleted: true });
    const [attachment] = live[2]?.attachments ?? [];
    expect(attachment).toMatchObject({ contentType: 'image/png', size: bytes.length });
    const download = await fetch(attachment?.url ?? '');
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);

    // A fresh client of ivy's syncs the conversation: the same messages, edits, reactions, tombstone.
    const fresh = sdk('ivy');
    await open(fresh);
    await until(fresh, () => fresh.heldSeq(conversationId) === 3);
    const withoutLinks = (messages: readonly Message[]) =>
      messages.map(({ attachments, ...rest }) => ({
        ...rest,
        attachments: attachments?.map(({ url: _url, expiresAt: _expiresAt, ...kept }) => kept),
      }));
    expect(withoutLinks(fresh.messages(conversationId))).toEqual(withoutLinks(live));
    fresh.close();
  });

  it('leaves a group: the leaver drops it, the others see the new members', async () => {
    const jon = sdk('jon');
    const kim = sdk('kim');
    await Promise.all([open(jon), open(kim)]);
    const group = await jon.createConversation(['kim', 'lea'], 'Leavers');
    await until(kim, () => kim.conversations.some((c) => c.conversationId === group.conversationId));
    await kim.leaveConversation(group.conversationId);
    expect(kim.conversations.some((c) => c.conversationId === group.conversationId)).toBe(false);
    await until(jon, () =>
      (jon.conversations.find((c) => c.conversationId === group.conversationId)?.members ?? []).every(
        (member) => member !== 'kim',
      ),
    );
    expect(jon.conversations.find((c) => c.conversationId === group.conversationId)?.members).toEqual(
      expect.arrayContaining(['jon', 'lea']),
    );
  });
});

describe('the SDK over a lost network', () => {
  it('commits 20 sends exactly once when the socket is cut with sends in flight', async () => {
    const ann = sdk('ann');
    const ben = sdk('ben');
    const benSaw = collect(ben);
    await Promise.all([open(ann), open(ben)]);
    // Four conversations with ben: the direct one and three groups, so several sends are in flight.
    const groups = await Promise.all(
      ['g1', 'g2', 'g3'].map((title) => ann.createConversation(['ben', `${title}-extra`], title)),
    );
    const targets = [{ to: 'ben' }, ...groups.map((g) => ({ conversationId: g.conversationId }))];
    const written = Array.from({ length: 20 }, (_, i) => ({
      target: targets[i % 4] ?? { to: 'ben' },
      text: `m${i}`,
    }));

    // WHEN ann's socket is cut once the first send is acknowledged, with the rest in flight or queued
    let dropped: Promise<string[]> | undefined;
    const annStates: string[] = [];
    ann.on('state', ({ state }) => annStates.push(state));
    ann.on('sent', () => {
      dropped ??= dropUser('ann');
    });
    const committed = await Promise.all(written.map(({ target, text }) => ann.send(target, text)));
    expect(await dropped).toHaveLength(1);
    expect(annStates).toEqual(['reconnecting', 'open']);

    // THEN 20 distinct messages were committed, in the order written within each conversation
    expect(new Set(committed.map((m) => m.messageId)).size).toBe(20);
    const byConversation = byConversationOf(committed, (m) => m.conversationId);
    expect(byConversation.size).toBe(4);
    for (const messages of byConversation.values()) {
      const seqs = messages.map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
    // and ben sees each exactly once (the SDK dropped any repeat)
    await until(ben, () => benSaw.filter((m) => m.senderId === 'ann').length >= 20);
    const fromAnn = benSaw.filter((m) => m.senderId === 'ann');
    expect(fromAnn.map((m) => m.messageId).sort()).toEqual(committed.map((m) => m.messageId).sort());
    // and the table holds exactly those: a fresh client of ben's syncs every conversation from 0
    const benElsewhere = sdk('ben');
    const fresh = collect(benElsewhere);
    await open(benElsewhere);
    await until(benElsewhere, () => fresh.length >= 20);
    expect(fresh.map((m) => m.content).sort()).toEqual(written.map((w) => w.text).sort());
    expect(ann.pending).toEqual([]);
  });

  it('catches a recipient up exactly once after 50 messages in 3 conversations while offline', async () => {
    const senders = ['cat', 'dan', 'eve'].map(sdk);
    const fay = sdk('fay');
    await Promise.all([...senders, fay].map(open));
    // fay holds the first message of each conversation
    const firstSeen = collect(fay);
    await Promise.all(senders.map((sender) => sender.send({ to: 'fay' }, 'hello')));
    await until(fay, () => firstSeen.length === 3);
    fay.close();

    // WHEN 50 messages arrive while she is offline (17, 17 and 16)
    const missed: Message[] = [];
    for (let i = 0; i < 50; i += 1) {
      const sender = senders[i % 3] as ParleyClient;
      missed.push(await sender.send({ to: 'fay' }, `missed ${i}`));
    }

    // THEN her reconnect hands her each of them once, in seq order per conversation
    const caughtUp = collect(fay);
    fay.connect();
    await until(fay, () => caughtUp.length >= 50);
    expect(caughtUp.map((m) => m.messageId).sort()).toEqual(missed.map((m) => m.messageId).sort());
    for (const messages of byConversationOf(caughtUp, (m) => m.conversationId).values()) {
      const seqs = messages.map((m) => m.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 2));
    }
    // and her list counts them unread
    await until(fay, () => fay.conversations.reduce((sum, c) => sum + c.unread, 0) === 53);
  });
});

describe('refused upgrades', () => {
  const expiredToken = (sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(DEFAULT_JWT_SECRET));

  function refusable(token: (why: 'connect' | 'refresh') => Promise<string>) {
    const states: StateChange[] = [];
    const asked: string[] = [];
    const client = new ParleyClient({
      url: `${stack.url}/`,
      WebSocket,
      token: (why) => {
        asked.push(why);
        return token(why);
      },
    });
    clients.push(client);
    client.on('state', (change) => states.push(change));
    return { client, states, asked };
  }

  it('answers a 401 (an expired token) with one fresh token, and opens', async () => {
    const { client, asked } = refusable((why) =>
      why === 'refresh' ? localToken('gus') : expiredToken('gus'),
    );
    await open(client);
    expect(asked).toEqual(['connect', 'refresh']);
  });

  it('gives up after a second 401 with the fresh token', async () => {
    const { client, states, asked } = refusable(() => expiredToken('hal'));
    client.connect();
    await until(client, () => client.state === 'closed');
    expect(asked).toEqual(['connect', 'refresh']);
    expect(states.at(-1)).toEqual({ state: 'closed', reason: 'unauthorized' });
  });

  it('stops for good on 403, once the user is deactivated', async () => {
    const response = await fetch(`${stack.httpUrl}/_local/users/ivy/deactivate`, { method: 'POST' });
    expect(response.status).toBe(204);
    const { client, states, asked } = refusable(() => localToken('ivy'));
    client.connect();
    await until(client, () => client.state === 'closed');
    expect(asked).toEqual(['connect']);
    expect(states.at(-1)).toEqual({ state: 'closed', reason: 'deactivated' });
  });
});

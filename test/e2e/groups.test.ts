/**
 * Groups end to end through the local stack: createConversation answers its creator, the table's
 * stream brings the `conversation` frame to every other member's connection, and group messages,
 * typing and reads reach every other member and no one else; an offline member's push names the group.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';

type Frame = Record<string, unknown>;

const ROOT = join(import.meta.dirname, '..', '..');
const POLL = { timeout: 20_000, interval: 50 };
let stack: LocalStackProcess;

const token = (userId: string, name: string) =>
  execFileSync(process.execPath, ['local/token.ts', userId, '--name', name], { cwd: ROOT }).toString().trim();

/** A connected user whose every frame is kept, in order, so a test can also say what did not arrive. */
interface Member {
  readonly client: Client;
  readonly frames: Frame[];
  /** Frames until one satisfies `match` (included); all of them are kept in `frames`. */
  until(match: (frame: Frame) => boolean): Promise<Frame>;
  /** Sends `ping` and returns every frame that arrived before its `pong`. */
  drain(): Promise<Frame[]>;
}

async function join2(userId: string, name: string): Promise<Member> {
  const client = await connect(`${stack.url}/?token=${token(userId, name)}&deviceId=${userId}-phone`);
  const frames: Frame[] = [];
  const until = async (match: (frame: Frame) => boolean) => {
    for (;;) {
      const frame = (await client.next()) as Frame;
      frames.push(frame);
      if (match(frame)) return frame;
    }
  };
  return {
    client,
    frames,
    until,
    async drain() {
      const from = frames.length;
      client.send({ action: 'ping' });
      await until((frame) => frame.type === 'pong');
      return frames.slice(from, -1);
    },
  };
}

beforeAll(async () => {
  stack = await startLocalStackProcess();
});

afterAll(async () => {
  await stack?.stop();
});

describe('a group of three', () => {
  let alice: Member;
  let bob: Member;
  let carol: Member;
  let dave: Member;
  let conversation: Frame;

  beforeAll(async () => {
    alice = await join2('alice', 'Alice');
    bob = await join2('bob', 'Bob');
    carol = await join2('carol', 'Carol');
    dave = await join2('dave', 'Dave');
  });

  afterAll(() => {
    for (const member of [alice, bob, carol, dave]) member?.client.socket.close();
  });

  it('answers its creator and reaches every other member through the stream', async () => {
    // WHEN alice creates the group
    const request = {
      action: 'createConversation',
      clientRequestId: 'weekend-1',
      members: ['carol', 'bob'],
      title: 'Weekend trip',
    };
    alice.client.send(request);

    // THEN she gets the conversation frame as her answer
    conversation = await alice.until((frame) => frame.type === 'conversation');
    expect(conversation).toEqual({
      type: 'conversation',
      conversationId: expect.stringMatching(/^grp_/),
      kind: 'group',
      members: ['alice', 'bob', 'carol'],
      title: 'Weekend trip',
      createdAt: expect.any(String),
    });
    // AND bob and carol get the same frame, delivered by the stream
    expect(await bob.until((frame) => frame.type === 'conversation')).toEqual(conversation);
    expect(await carol.until((frame) => frame.type === 'conversation')).toEqual(conversation);

    // AND a retry of the same request answers the same conversation
    alice.client.send(request);
    expect(await alice.until((frame) => frame.type === 'conversation')).toEqual(conversation);
  });

  it('delivers a group message to every other member, and to no one else', async () => {
    const conversationId = conversation.conversationId;
    alice.client.send({ action: 'sendMessage', conversationId, clientMessageId: 'g-1', content: 'Tents?' });
    const ack = await alice.until((frame) => frame.type === 'ack');
    expect(ack).toMatchObject({ conversationId, seq: 1, duplicate: false });
    for (const member of [bob, carol]) {
      expect(await member.until((frame) => frame.type === 'message')).toMatchObject({
        conversationId,
        seq: 1,
        senderId: 'alice',
        content: 'Tents?',
        clientMessageId: 'g-1',
      });
    }

    // WHEN bob answers; once his message reached alice and carol, the stream has delivered everything
    // before it in this conversation (one partition, delivered in order)
    bob.client.send({ action: 'sendMessage', conversationId, clientMessageId: 'g-2', content: 'Two.' });
    for (const member of [alice, carol]) {
      expect(await member.until((frame) => frame.type === 'message')).toMatchObject({
        seq: 2,
        senderId: 'bob',
      });
    }
    await bob.until((frame) => frame.type === 'ack');

    // THEN dave, who is not a member, got nothing at all
    expect(await dave.drain()).toEqual([]);
    expect(dave.frames.filter((frame) => frame.type !== 'pong')).toEqual([]);
    // AND no sender got their own message, and alice got the conversation only as her two answers
    const types = (member: Member) => member.frames.map((frame) => `${frame.type}:${frame.seq ?? ''}`);
    await alice.drain();
    await bob.drain();
    await carol.drain();
    expect(types(alice).filter((type) => type.startsWith('message'))).toEqual(['message:2']);
    expect(types(bob).filter((type) => type.startsWith('message'))).toEqual(['message:1']);
    expect(types(carol).filter((type) => type.startsWith('message'))).toEqual(['message:1', 'message:2']);
    expect(alice.frames.filter((frame) => frame.type === 'conversation')).toHaveLength(2);
    for (const member of [bob, carol]) {
      expect(member.frames.filter((frame) => frame.type === 'conversation')).toHaveLength(1);
    }
  });

  it('relays typing to the other members and reads to every member', async () => {
    const conversationId = conversation.conversationId;
    carol.client.send({ action: 'typing', conversationId, state: 'start' });
    for (const member of [alice, bob]) {
      expect(await member.until((frame) => frame.type === 'typing')).toMatchObject({
        conversationId,
        userId: 'carol',
        state: 'start',
      });
    }

    carol.client.send({ action: 'markRead', conversationId, seq: 2 });
    for (const member of [alice, bob, carol]) {
      expect(await member.until((frame) => frame.type === 'read')).toMatchObject({
        conversationId,
        userId: 'carol',
        seq: 2,
      });
    }
    expect(await dave.drain()).toEqual([]);
  });

  it('refuses the group’s conversation to a non-member', async () => {
    const conversationId = conversation.conversationId;
    dave.client.send({ action: 'sendMessage', conversationId, clientMessageId: 'x-1', content: 'hi?' });
    expect(await dave.until((frame) => frame.type === 'error')).toMatchObject({
      code: 'forbidden',
      action: 'sendMessage',
    });
    dave.client.send({ action: 'markRead', conversationId, seq: 1 });
    expect(await dave.until((frame) => frame.type === 'error')).toMatchObject({ code: 'forbidden' });
  });

  it('pushes to an offline member with a title that names the sender and the group', async () => {
    // GIVEN carol registered her phone and went offline
    carol.client.send({ action: 'registerDevice', platform: 'fcm', token: 'fcm-token-carol' });
    await carol.until((frame) => frame.type === 'ack');
    carol.client.socket.close();
    await carol.client.closed;

    // WHEN alice writes to the group
    const conversationId = conversation.conversationId;
    alice.client.send({
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'g-3',
      content: 'Leaving at 8',
    });
    await alice.until((frame) => frame.type === 'ack' && frame.clientMessageId === 'g-3');

    // THEN carol's phone gets a push titled "Alice · Weekend trip"; bob, online, gets the frame
    await expect
      .poll(async () => (await (await fetch(`${stack.httpUrl}/_local/pushes`)).json()) as Frame[], POLL)
      .toContainEqual(
        expect.objectContaining({
          userId: 'carol',
          title: 'Alice · Weekend trip',
          body: 'Leaving at 8',
          data: { conversationId, messageId: expect.any(String), seq: 3 },
        }),
      );
    expect(await bob.until((frame) => frame.type === 'message')).toMatchObject({ seq: 3 });
  });
});

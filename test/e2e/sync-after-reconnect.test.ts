/**
 * History that survives reconnects, through the local stack with real WebSocket clients: bob gets the
 * first message of three conversations (each sender hears `delivered`), goes offline, misses 30
 * messages across them, reconnects and syncs each one from the last seq he holds, and ends with every
 * message exactly once, in seq order. And the worked example of docs/protocol.md, "A client that
 * reconnects": a client that reconnects lists its conversations (paging with the cursor), syncs each one
 * whose `lastSeq` is beyond what it holds, a group created while it was away included, and ends with
 * exactly what it missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { pipelineIdle } from './support/pipeline-idle.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;

const join = async (userId: string): Promise<Client> =>
  connect(`${stack.url}/?token=${await localToken(userId)}`);

beforeAll(async () => {
  stack = await startLocalStackProcess();
});

afterAll(async () => {
  await stack?.stop();
});

async function sendAndAck(client: Client, to: string, clientMessageId: string, content: string) {
  client.send({ action: 'sendMessage', to, clientMessageId, content });
  return client.until((frame) => frame.type === 'ack' && frame.clientMessageId === clientMessageId);
}

describe('a recipient who was offline', () => {
  it('gets exactly what it missed in three conversations by syncing each after reconnecting', async () => {
    // GIVEN bob holds the first message of his conversations with ann, cy and dee
    const senders = await Promise.all(['ann', 'cy', 'dee'].map(join));
    let bob = await join('bob');
    const held = new Map<string, number>();
    const senderIds = ['ann', 'cy', 'dee'];
    for (const [i, sender] of senders.entries()) {
      // bob wrote first, so once they answer both have written: receipts pass (protocol.md 1.2)
      await sendAndAck(bob, senderIds[i] ?? '', `bob-${i}`, `hi ${i}`);
      const ack = await sendAndAck(sender, 'bob', `hello-${i}`, `hello from ${i}`);
      const frame = await bob.until((f) => f.type === 'message' && f.messageId === ack.messageId);
      held.set(String(frame.conversationId), Number(frame.seq));
      // and the sender learns that it reached him
      expect(await sender.until((f) => f.type === 'delivered')).toMatchObject({
        conversationId: frame.conversationId,
        userId: 'bob',
        seq: frame.seq,
      });
    }
    bob.socket.close();
    await bob.closed;

    // WHEN 30 messages arrive while he is offline, 10 in each conversation
    const sent = new Map<string, string[]>();
    for (let round = 0; round < 10; round++) {
      const acks = await Promise.all(
        senders.map((sender, i) =>
          sendAndAck(sender, 'bob', `missed-${i}-${round}`, `missed ${round} from ${i}`),
        ),
      );
      for (const ack of acks) {
        const list = sent.get(String(ack.conversationId)) ?? [];
        list.push(String(ack.messageId));
        sent.set(String(ack.conversationId), list);
      }
    }

    // AND he reconnects and syncs each conversation after the last seq he holds, in small pages
    bob = await join('bob');
    const received = new Map<string, { seq: number; messageId: string }[]>();
    for (const [conversationId, lastSeq] of held) {
      let afterSeq = lastSeq;
      for (;;) {
        bob.send({ action: 'sync', conversationId, afterSeq, limit: 4 });
        const page = await bob.until((f) => f.type === 'messages' && f.conversationId === conversationId);
        const messages = page.messages as { seq: number; messageId: string }[];
        received.set(conversationId, [...(received.get(conversationId) ?? []), ...messages]);
        afterSeq = messages.at(-1)?.seq ?? afterSeq;
        if (page.hasMore !== true) break;
      }
    }

    // THEN he has every missed message exactly once, gapless after what he held
    expect([...received.keys()].sort()).toEqual([...sent.keys()].sort());
    for (const [conversationId, messages] of received) {
      const start = held.get(conversationId) ?? 0;
      expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => start + i + 1));
      expect(new Set(messages.map((m) => m.messageId))).toEqual(new Set(sent.get(conversationId)));
    }

    // AND a stranger learns nothing from syncing one of those conversations
    const eve = await join('eve');
    const conversationId = [...held.keys()][0];
    eve.send({ action: 'sync', conversationId });
    expect(await eve.until((f) => f.type === 'error')).toMatchObject({ code: 'forbidden', action: 'sync' });

    for (const client of [...senders, bob, eve]) client.socket.close();
    await Promise.all([...senders, bob, eve].map((client) => client.closed));
  });

  it('lists its conversations after reconnecting, then syncs exactly those with something new', async () => {
    // GIVEN kim holds everything of her conversations with lou, max and ned
    const lou = await join('lou');
    const max = await join('max');
    const ned = await join('ned');
    let kim = await join('kim');
    const held = new Map<string, number>();
    for (const [i, sender] of [lou, max, ned].entries()) {
      const ack = await sendAndAck(sender, 'kim', `first-${i}`, `first from ${i}`);
      await kim.until((f) => f.type === 'message' && f.messageId === ack.messageId);
      held.set(String(ack.conversationId), Number(ack.seq));
    }
    kim.socket.close();
    await kim.closed;

    // WHEN, while she is away, lou and ned write again and max starts a group with her
    const missed = new Map<string, string[]>();
    const note = (ack: Record<string, unknown>) =>
      missed.set(String(ack.conversationId), [
        ...(missed.get(String(ack.conversationId)) ?? []),
        String(ack.messageId),
      ]);
    for (let round = 0; round < 3; round++) {
      note(await sendAndAck(lou, 'kim', `lou-${round}`, `lou ${round}`));
      note(await sendAndAck(ned, 'kim', `ned-${round}`, `ned ${round}`));
    }
    max.send({
      action: 'createConversation',
      clientRequestId: 'club-1',
      members: ['kim', 'ned'],
      title: 'Book club',
    });
    const group = await max.until((f) => f.type === 'conversation' && f.kind === 'group');
    max.send({
      action: 'sendMessage',
      conversationId: group.conversationId,
      clientMessageId: 'club-m1',
      content: 'Chapter 4?',
    });
    note(await max.until((f) => f.type === 'ack' && f.clientMessageId === 'club-m1'));

    // AND, once delivery has recorded all of it in her list (the list shows a change once its delivery
    // ran: a connected client gets the frame meanwhile), she reconnects and pages through her list, two
    // at a time. An entry that changed while she paged would come again with its newer state: a client
    // keeps the later copy.
    await pipelineIdle(stack.httpUrl);
    kim = await join('kim');
    type Entry = { conversationId: string; lastSeq: number; unread: number; title: string | null };
    const byId = new Map<string, Entry>();
    let cursor: unknown;
    do {
      kim.send({ action: 'sync', limit: 2, ...(typeof cursor === 'string' && { cursor }) });
      const page = await kim.until((f) => f.type === 'conversations');
      for (const entry of page.conversations as Entry[]) byId.set(entry.conversationId, entry);
      cursor = page.nextCursor;
    } while (typeof cursor === 'string');
    const listed = [...byId.values()];

    // THEN the list has her four conversations, the group with what it is
    expect(listed.map((entry) => entry.conversationId).sort()).toEqual(
      [...held.keys(), group.conversationId].sort(),
    );
    expect(listed.find((entry) => entry.conversationId === group.conversationId)).toMatchObject({
      title: 'Book club',
      lastSeq: 1,
      unread: 1,
    });

    // AND syncing every conversation whose lastSeq is beyond what she holds gets exactly what she missed
    const received = new Map<string, string[]>();
    for (const entry of listed) {
      let afterSeq = held.get(entry.conversationId) ?? 0;
      while (entry.lastSeq > afterSeq) {
        kim.send({ action: 'sync', conversationId: entry.conversationId, afterSeq });
        const page = await kim.until(
          (f) => f.type === 'messages' && f.conversationId === entry.conversationId,
        );
        const messages = page.messages as { seq: number; messageId: string }[];
        received.set(entry.conversationId, [
          ...(received.get(entry.conversationId) ?? []),
          ...messages.map((m) => m.messageId),
        ]);
        afterSeq = messages.at(-1)?.seq ?? afterSeq;
        if (page.hasMore !== true) break;
      }
    }
    expect(received).toEqual(missed);

    for (const client of [lou, max, ned, kim]) client.socket.close();
    await Promise.all([lou, max, ned, kim].map((client) => client.closed));
  });
});

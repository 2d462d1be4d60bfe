/**
 * Edits, deletions and reactions against DynamoDB Local: each is one conditional update of the
 * message item (with the conversation's next version), so concurrent changes serialise without a lost
 * reaction or a resurrected message, and `sync` keeps every `seq`, a deleted one as a tombstone.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MessagesFrame, SendAckFrame } from '../../functions/domain/frames.ts';
import { handler as deleteMessage } from '../../functions/routes/delete-message.ts';
import { handler as editMessage } from '../../functions/routes/edit-message.ts';
import { handler as react } from '../../functions/routes/react.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { seedGroupConversation, storedMessages } from '../support/seed.ts';

type Answer = Record<string, unknown>;

/**
 * One frame, sent again after `internal` as protocol.md tells clients to: every change of a conversation
 * claims its next version (versioned-change.ts), so dozens racing on one conversation may outlast a
 * change's deadline; what must hold is that a retried change is applied exactly as the others.
 */
async function call(handler: typeof sendMessage, frame: Answer, userId: string): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const response = await handler(messageEvent(frame, { userId }), lambdaContext);
    const answer = JSON.parse(response.body ?? '{}') as Answer;
    if (answer.code !== 'internal') return answer;
    // As the SDK does: a growing, jittered pause, so that retries never pile up on a busy table.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(5_000, 100 * 2 ** attempt)));
  }
}

async function send(conversationId: string, userId: string, content: string): Promise<SendAckFrame> {
  const frame = { action: 'sendMessage', conversationId, clientMessageId: randomUUID(), content };
  return (await call(sendMessage, frame, userId)) as unknown as SendAckFrame;
}

const group = async (size: number): Promise<{ id: string; members: string[] }> => {
  const id = `grp-changes-${randomUUID()}`;
  const members = Array.from({ length: size }, (_, index) => `member${index}`);
  await seedGroupConversation(id, members);
  return { id, members };
};

describe('message changes against DynamoDB Local', () => {
  it('20 concurrent edits and a delete of one message end deleted, with no content left', async () => {
    // GIVEN member0's message with a reaction
    const { id } = await group(3);
    const { seq } = await send(id, 'member0', 'the original');
    expect(
      await call(react, { action: 'react', conversationId: id, seq, emoji: '👀', on: true }, 'member1'),
    ).toEqual({
      type: 'ack',
      action: 'react',
    });

    // WHEN 20 edits and a delete race
    const edits = Array.from({ length: 20 }, (_, index) =>
      call(
        editMessage,
        { action: 'editMessage', conversationId: id, seq, content: `edit ${index}` },
        'member0',
      ),
    );
    const answers = await Promise.all([
      ...edits.slice(0, 10),
      call(deleteMessage, { action: 'deleteMessage', conversationId: id, seq }, 'member0'),
      ...edits.slice(10),
    ]);

    // THEN the delete was acked, each edit was acked before it or refused after it, and a later edit is refused
    expect(answers[10]).toEqual({ type: 'ack', action: 'deleteMessage', seq });
    for (const answer of answers)
      expect([answer.type === 'ack' || answer.code === 'not_found']).toEqual([true]);
    expect(
      await call(
        editMessage,
        { action: 'editMessage', conversationId: id, seq, content: 'back?' },
        'member0',
      ),
    ).toMatchObject({ type: 'error', code: 'not_found' });
    // AND the item is a tombstone: no content, reactions or reactors left in the table
    const [item] = (await storedMessages(id)).filter((stored) => stored.seq === seq);
    expect(item).toMatchObject({ seq, deleted: true, content: '' });
    expect(Object.keys(item ?? {}).filter((name) => /^(R#|U#|reactionEmoji|attachments)/.test(name))).toEqual(
      [],
    );
  });

  // Every change of a conversation claims its next version on the conversation item (versioned-change.ts),
  // so racing changes of one conversation commit one at a time: 20 at once is a burst DynamoDB Local on
  // two cores absorbs in seconds; docs/protocol.md "Catch-up" gives what a larger burst costs.
  it('20 members reacting at once to one message keep all 20 reactions', async () => {
    const { id, members } = await group(20);
    const { seq } = await send(id, 'member0', 'react to me');

    const answers = await Promise.all(
      members.map((userId, index) =>
        call(
          react,
          { action: 'react', conversationId: id, seq, emoji: index % 2 === 0 ? '👍' : '🎉', on: true },
          userId,
        ),
      ),
    );

    expect(answers.every((answer) => answer.type === 'ack')).toBe(true);
    const page = (await call(
      sync,
      { action: 'sync', conversationId: id },
      'member7',
    )) as unknown as MessagesFrame;
    const reactions = page.messages[0]?.reactions ?? {};
    expect(reactions['👍']).toHaveLength(10);
    expect(reactions['🎉']).toHaveLength(10);
    expect(new Set([...(reactions['👍'] ?? []), ...(reactions['🎉'] ?? [])])).toEqual(new Set(members));
  });

  it('takes a reaction off idempotently and frees its emoji for the 50-emoji limit', async () => {
    const { id } = await group(2);
    const { seq } = await send(id, 'member0', 'limits');
    const frame = (emoji: string, on: boolean) => ({ action: 'react', conversationId: id, seq, emoji, on });
    await call(react, frame('🍕', true), 'member1');
    await call(react, frame('🍕', false), 'member1');
    await call(react, frame('🍕', false), 'member1');
    const [item] = (await storedMessages(id)).filter((stored) => stored.seq === seq);
    expect(Object.keys(item ?? {}).filter((name) => /^(R#|reactionEmoji)/.test(name))).toEqual([]);
    // One user's eleventh emoji is refused; the first ten stand.
    const emoji = ['😀', '😃', '😄', '😁', '😆', '😅', '🤣', '😂', '🙂', '🙃', '😉'];
    const answers = [];
    for (const each of emoji) answers.push(await call(react, frame(each, true), 'member1'));
    expect(answers.slice(0, 10).every((answer) => answer.type === 'ack')).toBe(true);
    expect(answers[10]).toMatchObject({ type: 'error', code: 'too_large' });
  });

  it('sync after edits and deletes returns every seq, tombstones in place, edits with editedAt', async () => {
    const { id } = await group(2);
    const acks = [];
    for (const content of ['one', 'two', 'three', 'four']) acks.push(await send(id, 'member0', content));
    const seqs = acks.map((ack) => ack.seq);
    await call(
      editMessage,
      { action: 'editMessage', conversationId: id, seq: seqs[0], content: 'one, edited' },
      'member0',
    );
    await call(deleteMessage, { action: 'deleteMessage', conversationId: id, seq: seqs[1] }, 'member0');
    await call(deleteMessage, { action: 'deleteMessage', conversationId: id, seq: seqs[2] }, 'member0');
    // Another member may neither edit nor delete it.
    expect(
      await call(deleteMessage, { action: 'deleteMessage', conversationId: id, seq: seqs[3] }, 'member1'),
    ).toMatchObject({ type: 'error', code: 'forbidden' });

    const page = (await call(
      sync,
      { action: 'sync', conversationId: id },
      'member1',
    )) as unknown as MessagesFrame;
    expect(page.messages.map((message) => message.seq)).toEqual(seqs);
    expect(page.messages.map((message) => [message.content, message.deleted ?? false])).toEqual([
      ['one, edited', false],
      ['', true],
      ['', true],
      ['four', false],
    ]);
    expect(page.messages[0]?.editedAt).toEqual(expect.stringMatching(/Z$/));
  });
});

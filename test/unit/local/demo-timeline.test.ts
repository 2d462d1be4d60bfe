/**
 * The demo page's message pane without a browser: one entry per message however often it arrives,
 * `seq` order with unacknowledged sends last, and the mark rule (read beats delivered beats sent).
 */
import { describe, expect, it } from 'vitest';
import type { Message, PendingMessage } from '../../../client/src/index.ts';
import { parseMembers, typingLine } from '../../../local/demo/names.ts';
import { MessageTimeline, markOf } from '../../../local/demo/timeline.ts';

const CONVERSATION = 'dm_test';
const none = { readBy: new Map<string, number>(), deliveredTo: new Map<string, number>() };

const message = (seq: number, senderId: string, clientMessageId = `c-${seq}`): Message => ({
  conversationId: CONVERSATION,
  messageId: `m-${seq}`,
  seq,
  senderId,
  content: `message ${seq}`,
  createdAt: `2026-11-23T10:30:0${seq}.000Z`,
  clientMessageId,
});

const pending = (clientMessageId: string, createdAt: string): PendingMessage => ({
  clientMessageId,
  target: { conversationId: CONVERSATION },
  conversationId: CONVERSATION,
  content: `draft ${clientMessageId}`,
  createdAt,
});

describe('markOf', () => {
  it('is read once another member read up to the message, delivered once delivered, else sent', () => {
    const receipts = { readBy: new Map([['bob', 2]]), deliveredTo: new Map([['bob', 3]]) };
    expect(markOf(2, receipts, 'alice')).toBe('read');
    expect(markOf(3, receipts, 'alice')).toBe('delivered');
    expect(markOf(4, receipts, 'alice')).toBe('sent');
  });

  it('ignores the user’s own read position', () => {
    expect(markOf(1, { readBy: new Map([['alice', 9]]), deliveredTo: new Map() }, 'alice')).toBe('sent');
  });
});

describe('MessageTimeline', () => {
  it('shows each message once, in seq order, with marks only on the user’s own', () => {
    // GIVEN messages arriving out of order, one of them twice
    const timeline = new MessageTimeline('alice');
    for (const m of [message(2, 'bob'), message(1, 'alice'), message(2, 'bob'), message(3, 'alice')]) {
      timeline.add(m);
    }

    // WHEN bob has read up to 1
    const entries = timeline.entries(
      { conversationId: CONVERSATION },
      { readBy: new Map([['bob', 1]]), deliveredTo: new Map() },
    );

    // THEN
    expect(entries.map(({ seq, mine, mark }) => ({ seq, mine, mark }))).toEqual([
      { seq: 1, mine: true, mark: 'read' },
      { seq: 2, mine: false, mark: undefined },
      { seq: 3, mine: true, mark: 'sent' },
    ]);
    expect(timeline.lastSeq(CONVERSATION)).toBe(3);
  });

  it('keeps unacknowledged sends last, oldest first, and replaces one by its committed message', () => {
    // GIVEN two sends waiting for their ack, and a message from bob
    const timeline = new MessageTimeline('alice');
    timeline.addPending(pending('late', '2026-11-23T10:31:00.000Z'));
    timeline.addPending(pending('early', '2026-11-23T10:30:00.000Z'));
    timeline.add(message(1, 'bob'));
    expect(timeline.entries({ conversationId: CONVERSATION }, none).map((e) => [e.key, e.mark])).toEqual([
      ['bob/c-1', undefined],
      ['alice/early', 'pending'],
      ['alice/late', 'pending'],
    ]);

    // WHEN the early one is committed and the late one refused
    timeline.add(message(2, 'alice', 'early'));
    timeline.failed(pending('late', '2026-11-23T10:31:00.000Z'), 'too_large: too long');

    // THEN the committed one keeps its key (the same element on the page) and the refused one says so
    expect(timeline.entries({ conversationId: CONVERSATION }, none).map((e) => [e.key, e.mark])).toEqual([
      ['bob/c-1', undefined],
      ['alice/early', 'sent'],
      ['alice/late', 'failed'],
    ]);
  });

  it('shows a send to a user before the direct conversation exists under that user', () => {
    const timeline = new MessageTimeline('alice');
    timeline.addPending({
      ...pending('first', '2026-11-23T10:30:00.000Z'),
      target: { to: 'bob' },
      conversationId: undefined,
    });
    expect(timeline.entries({ to: 'bob' }, none).map((e) => e.key)).toEqual(['alice/first']);
    expect(timeline.entries({ to: 'carol' }, none)).toEqual([]);
    expect(timeline.entries({ conversationId: CONVERSATION }, none)).toEqual([]);
  });
});

describe('the new conversation form and the typing line', () => {
  it('reads comma-separated ids without blanks, repeats or the user', () => {
    expect(parseMembers(' bob, carol ,, bob, alice ', 'alice')).toEqual(['bob', 'carol']);
  });

  it('names who is typing', () => {
    expect(typingLine([])).toBe('');
    expect(typingLine(['bob'])).toBe('bob is typing…');
    expect(typingLine(['bob', 'carol'])).toBe('bob and carol are typing…');
    expect(typingLine(['bob', 'carol', 'dan'])).toBe('3 people are typing…');
  });
});

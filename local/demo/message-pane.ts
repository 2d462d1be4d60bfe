/// <reference lib="dom" />
/**
 * The demo's message list: others' messages on the left, the user's own on the right with their mark
 * (pending → sent → delivered → read). Elements are kept per message so the live region announces
 * new messages, not every mark that changes.
 */
import { h, syncKeyed, timeOf } from './dom.ts';
import type { Mark, TimelineEntry } from './timeline.ts';

const MARKS: Readonly<Record<Mark, { symbol: string; text: string }>> = {
  pending: { symbol: '🕓', text: 'pending' },
  failed: { symbol: '⚠', text: 'not sent' },
  sent: { symbol: '✓', text: 'sent' },
  delivered: { symbol: '✓✓', text: 'delivered' },
  read: { symbol: '✓✓', text: 'read' },
};

export function renderMessages(list: HTMLElement, entries: readonly TimelineEntry[]): void {
  syncKeyed(
    list,
    entries,
    (entry) => entry.key,
    (entry) =>
      h(
        'li',
        { className: entry.mine ? 'message mine' : 'message', testId: 'message' },
        h(
          'p',
          { className: 'meta' },
          h('span', { className: 'sender' }, entry.mine ? 'you' : entry.senderId),
          ' ',
          h('time', { attrs: { datetime: entry.createdAt } }, timeOf(entry.createdAt)),
        ),
        h('p', { className: 'content', testId: 'message-content' }, entry.content),
      ),
    (item, entry) => {
      item.dataset.mine = String(entry.mine);
      item.dataset.sender = entry.senderId;
      if (entry.seq === undefined) delete item.dataset.seq;
      else item.dataset.seq = String(entry.seq);
      const shown = item.querySelector<HTMLElement>('.mark');
      if (entry.mark === undefined) {
        shown?.remove();
        return;
      }
      if (shown?.dataset.mark === entry.mark) return;
      const { symbol, text } = MARKS[entry.mark];
      const mark = h(
        'span',
        {
          className: `mark mark-${entry.mark}`,
          testId: 'mark',
          attrs: { 'data-mark': entry.mark, title: entry.error ?? text },
        },
        h('span', { attrs: { 'aria-hidden': 'true' } }, symbol),
        ` ${text}`,
      );
      if (shown === null) item.append(mark);
      else shown.replaceWith(mark);
    },
  );
}

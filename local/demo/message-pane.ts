/// <reference lib="dom" />
/**
 * The demo's message list: others' messages on the left, the user's own on the right with their mark
 * (pending → sent → delivered → read). Each committed message shows "edited" once edited, a tombstone
 * once deleted, its photos, and reaction buttons with counts; the user's own have Edit and Delete.
 * Elements are kept per message so the live region announces new messages, not every mark that
 * changes; a message's body is rebuilt only when the message itself changed.
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

/** The reactions offered on every message (others already on a message are shown too). */
export const REACTIONS = ['👍', '❤️', '😂', '🎉'] as const;

export interface MessageActions {
  readonly me: string;
  readonly onEdit: (entry: TimelineEntry) => void;
  readonly onDelete: (entry: TimelineEntry) => void;
  readonly onReact: (entry: TimelineEntry, emoji: string, on: boolean) => void;
}

export function renderMessages(
  list: HTMLElement,
  entries: readonly TimelineEntry[],
  actions?: MessageActions,
): void {
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
          h('span', { className: 'edited', testId: 'edited', attrs: { hidden: '' } }, ' · edited'),
        ),
        h('div', { className: 'body' }),
      ),
    (item, entry) => {
      item.dataset.mine = String(entry.mine);
      item.dataset.sender = entry.senderId;
      item.dataset.deleted = String(entry.deleted);
      if (entry.seq === undefined) delete item.dataset.seq;
      else item.dataset.seq = String(entry.seq);
      const edited = item.querySelector<HTMLElement>('.edited');
      if (edited !== null) edited.hidden = entry.editedAt === undefined || entry.deleted;
      const body = item.querySelector<HTMLElement>('.body');
      const version = versionOf(entry, actions?.me);
      if (body !== null && body.dataset.version !== version) {
        body.dataset.version = version;
        body.replaceChildren(...bodyOf(entry, actions));
      }
      updateMark(item, entry);
    },
  );
}

/** What the body shows, as a string: the body is rebuilt when it changes. */
function versionOf(entry: TimelineEntry, me: string | undefined): string {
  return JSON.stringify([
    entry.seq,
    entry.content,
    entry.deleted,
    entry.hidden,
    entry.reactions,
    entry.attachments.map((attachment) => attachment.attachmentId),
    me,
  ]);
}

function bodyOf(entry: TimelineEntry, actions: MessageActions | undefined): Node[] {
  if (entry.deleted) {
    return [h('p', { className: 'tombstone', testId: 'tombstone' }, 'This message was deleted.')];
  }
  if (entry.hidden) {
    return [h('p', { className: 'tombstone', testId: 'hidden-message' }, 'Message from a blocked user')];
  }
  const nodes: Node[] = [];
  if (entry.content !== '')
    nodes.push(h('p', { className: 'content', testId: 'message-content' }, entry.content));
  for (const attachment of entry.attachments) {
    const who = entry.mine ? 'you' : entry.senderId;
    nodes.push(
      attachment.contentType.startsWith('image/')
        ? h('img', {
            className: 'attachment',
            testId: 'attachment-image',
            attrs: { src: attachment.url, alt: `Photo from ${who}`, loading: 'lazy' },
          })
        : h(
            'a',
            {
              className: 'attachment',
              testId: 'attachment-link',
              attrs: { href: attachment.url, rel: 'noreferrer' },
            },
            `${attachment.contentType} (${attachment.size} bytes)`,
          ),
    );
  }
  // Reactions and changes need the committed message's seq.
  if (actions === undefined || entry.seq === undefined || entry.conversationId === undefined) return nodes;
  const emoji = [...new Set([...REACTIONS, ...Object.keys(entry.reactions)])];
  const reactions = h('p', { className: 'reactions' });
  for (const one of emoji) {
    const users = entry.reactions[one] ?? [];
    const mine = users.includes(actions.me);
    const label = `${one} ${users.length > 0 ? users.length : ''}`.trim();
    const button = h(
      'button',
      {
        className: 'reaction',
        testId: 'reaction',
        attrs: {
          type: 'button',
          'data-emoji': one,
          'data-count': String(users.length),
          'aria-pressed': String(mine),
          title: users.length > 0 ? users.join(', ') : `React with ${one}`,
        },
      },
      label,
    );
    button.addEventListener('click', () => actions.onReact(entry, one, !mine));
    reactions.append(button);
  }
  nodes.push(reactions);
  if (entry.mine) {
    const edit = h('button', { className: 'link', testId: 'edit', attrs: { type: 'button' } }, 'Edit');
    edit.addEventListener('click', () => actions.onEdit(entry));
    const remove = h('button', { className: 'link', testId: 'delete', attrs: { type: 'button' } }, 'Delete');
    remove.addEventListener('click', () => actions.onDelete(entry));
    nodes.push(h('p', { className: 'message-actions' }, edit, ' ', remove));
  }
  return nodes;
}

function updateMark(item: HTMLElement, entry: TimelineEntry): void {
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
}

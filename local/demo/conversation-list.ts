/// <reference lib="dom" />
/**
 * The demo's conversation list: one button per conversation with its name, a presence dot for direct
 * conversations (hollow until a presence change has been seen: the server sends no initial state),
 * the unread count and the last message.
 */
import type { ConversationSummary } from '../../client/src/index.ts';
import { h, syncKeyed } from './dom.ts';
import { conversationName, peerOf } from './names.ts';

export type PresenceStatus = 'online' | 'offline' | 'unknown';

export interface ListView {
  readonly me: string;
  readonly selected: string | undefined;
  readonly presenceOf: (userId: string) => { status: 'online' | 'offline'; lastSeen?: string } | undefined;
  readonly onSelect: (conversationId: string) => void;
}

export function renderConversationList(
  list: HTMLElement,
  conversations: readonly ConversationSummary[],
  view: ListView,
): void {
  syncKeyed(
    list,
    conversations,
    (summary) => summary.conversationId,
    (summary) => {
      const button = h('button', {
        className: 'conversation',
        testId: 'conversation',
        attrs: { type: 'button', 'data-conversation-id': summary.conversationId },
      });
      button.addEventListener('click', () => view.onSelect(summary.conversationId));
      return h('li', {}, button);
    },
    (item, summary) => {
      const button = item.firstElementChild as HTMLButtonElement;
      const name = conversationName(summary, view.me);
      const peer = peerOf(summary, view.me);
      button.dataset.name = name;
      button.dataset.unread = String(summary.unread);
      if (summary.conversationId === view.selected) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
      const parts: Node[] = [];
      if (peer !== undefined) parts.push(presenceDot(peer, view.presenceOf(peer)?.status ?? 'unknown'));
      parts.push(h('span', { className: 'conversation-name' }, name));
      if (summary.kind === 'group') parts.push(h('span', { className: 'kind' }, 'group'));
      if (summary.unread > 0) {
        parts.push(
          h(
            'span',
            { className: 'badge', testId: 'unread' },
            String(summary.unread),
            h('span', { className: 'visually-hidden' }, ' unread'),
          ),
        );
      }
      const last = summary.lastMessage;
      if (last !== null) {
        const who = last.senderId === view.me ? 'you' : last.senderId;
        parts.push(h('span', { className: 'preview' }, `${who}: ${last.content}`));
      }
      button.replaceChildren(...parts);
    },
  );
}

export function presenceDot(userId: string, status: PresenceStatus): HTMLElement {
  const label = status === 'unknown' ? `${userId}: presence not known yet` : `${userId} is ${status}`;
  return h('span', {
    className: `dot dot-${status}`,
    testId: 'presence',
    attrs: { 'data-status': status, 'data-user-id': userId, role: 'img', 'aria-label': label, title: label },
  });
}

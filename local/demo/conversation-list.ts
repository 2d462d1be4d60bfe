/// <reference lib="dom" />
/**
 * The demo's conversation list: one button per conversation with its name, a presence dot for direct
 * conversations (hollow until a presence change has been seen: the server sends no initial state),
 * the unread count and the last message. (1.2) Message requests are listed apart, with Accept and
 * Decline.
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

/** (1.2) A message request: the list's conversation button, and Accept or Decline (leave) beside it. */
export interface RequestView extends ListView {
  readonly onAccept: (conversationId: string) => void;
  readonly onDecline: (conversationId: string) => void;
}

/** (1.2) The message requests apart from the rest, each in list order. */
export function splitRequests(conversations: readonly ConversationSummary[]): {
  requests: ConversationSummary[];
  others: ConversationSummary[];
} {
  return {
    requests: conversations.filter((summary) => summary.request === true),
    others: conversations.filter((summary) => summary.request !== true),
  };
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
    (summary) => h('li', {}, conversationButton(summary, view)),
    (item, summary) => showConversation(item.firstElementChild as HTMLButtonElement, summary, view),
  );
}

export function renderRequestList(
  list: HTMLElement,
  requests: readonly ConversationSummary[],
  view: RequestView,
): void {
  syncKeyed(
    list,
    requests,
    (summary) => summary.conversationId,
    (summary) => {
      const { conversationId } = summary;
      // Named, for screen readers that list the page's buttons out of context.
      const name = conversationName(summary, view.me);
      const accept = h(
        'button',
        { testId: 'accept-request', attrs: { type: 'button', 'aria-label': `Accept ${name}'s request` } },
        'Accept',
      );
      accept.addEventListener('click', () => view.onAccept(conversationId));
      const decline = h(
        'button',
        {
          className: 'link',
          testId: 'decline-request',
          attrs: { type: 'button', 'aria-label': `Decline ${name}'s request` },
        },
        'Decline',
      );
      decline.addEventListener('click', () => view.onDecline(conversationId));
      const actions = h('div', { className: 'request-actions' }, accept, decline);
      return h('li', { className: 'request', testId: 'request' }, conversationButton(summary, view), actions);
    },
    (item, summary) => showConversation(item.firstElementChild as HTMLButtonElement, summary, view),
  );
}

function conversationButton(summary: ConversationSummary, view: ListView): HTMLButtonElement {
  const button = h('button', {
    className: 'conversation',
    testId: 'conversation',
    attrs: { type: 'button', 'data-conversation-id': summary.conversationId },
  });
  button.addEventListener('click', () => view.onSelect(summary.conversationId));
  return button;
}

/** The button's name, presence dot, unread count and last message, as text. */
function showConversation(button: HTMLButtonElement, summary: ConversationSummary, view: ListView): void {
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
}

export function presenceDot(userId: string, status: PresenceStatus): HTMLElement {
  const label = status === 'unknown' ? `${userId}: presence not known yet` : `${userId} is ${status}`;
  return h('span', {
    className: `dot dot-${status}`,
    testId: 'presence',
    attrs: { 'data-status': status, 'data-user-id': userId, role: 'img', 'aria-label': label, title: label },
  });
}

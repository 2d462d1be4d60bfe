/// <reference lib="dom" />
/**
 * The demo's chat once logged in: one ParleyClient, its events kept in a few maps, and the page drawn
 * from them after every event (small enough to redraw whole; the list helpers keep elements).
 */
import {
  type Conversation,
  type ConversationSummary,
  ParleyClient,
  type Target,
  type UploadContentType,
} from '../../client/src/index.ts';
import {
  type ListView,
  presenceDot,
  renderConversationList,
  renderRequestList,
  splitRequests,
} from './conversation-list.ts';
import { fetchDevToken } from './dev-token-client.ts';
import { byId, h, timeOf } from './dom.ts';
import { renderMessages } from './message-pane.ts';
import { conversationName, parseMembers, peerOf, typingLine } from './names.ts';
import { MessageTimeline, type TimelineEntry } from './timeline.ts';

/** protocol.md's user id rule, checked before a direct conversation is opened for someone. */
const USER_ID = /^[A-Za-z0-9_.:@-]{1,64}$/;

/** The photo types requestUpload accepts (protocol.md). */
const PHOTO_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif']);

type Known = Pick<Conversation, 'conversationId' | 'kind' | 'members' | 'title'>;

export interface Chat {
  /** Closes the connection for good. */
  close(): void;
}

export function startChat(me: string, firstToken: string): Chat {
  let unusedToken: string | undefined = firstToken;
  const client = new ParleyClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`,
    // The login's token serves the first connection; every later one gets a fresh token.
    token: async () => {
      const token = unusedToken ?? (await fetchDevToken(me));
      unusedToken = undefined;
      return token;
    },
    // Ties the connection to the device registered below, so the user gets pushes once the page closes.
    deviceId: `demo-${me}`,
  });

  const timeline = new MessageTimeline(me);
  const known = new Map<string, Known>();
  /** The highest seq markRead was asked for, per conversation, so each is asked once. */
  const readAsked = new Map<string, number>();
  let summaries: readonly ConversationSummary[] = client.conversations;
  /** A conversation, or `{ to }`: a direct conversation that its first message will create. */
  let selected: Target | undefined;
  /** The message the composer is editing instead of writing a new one. */
  let editing: { conversationId: string; seq: number } | undefined;

  const list = byId('conversation-list');
  const noConversations = byId('no-conversations');
  const requestSection = byId('requests');
  const requestList = byId('request-list');
  const title = byId('conversation-title');
  const details = byId('conversation-details');
  const messages = byId('messages');
  const typing = byId('typing');
  const composer = byId<HTMLFormElement>('composer');
  const text = byId<HTMLTextAreaElement>('composer-text');
  const send = byId<HTMLButtonElement>('send');
  const photo = byId<HTMLInputElement>('composer-photo');
  const editBar = byId('editing');
  const cancelEdit = byId<HTMLButtonElement>('cancel-edit');
  const uploadStatus = byId('upload-status');
  const chatError = byId('chat-error');
  const state = byId('connection-state');

  const showError = (message: string) => {
    chatError.textContent = message;
  };
  const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

  const conversationOf = (conversationId: string): Known | undefined =>
    summaries.find((summary) => summary.conversationId === conversationId) ?? known.get(conversationId);
  const directWith = (peer: string): string | undefined =>
    [...summaries, ...known.values()].find(
      (conversation) => conversation.kind === 'direct' && peerOf(conversation, me) === peer,
    )?.conversationId;

  const stopEditing = () => {
    if (editing === undefined) return;
    editing = undefined;
    text.value = '';
    renderPane();
  };

  const actions = {
    me,
    onEdit: (entry: TimelineEntry) => {
      if (entry.conversationId === undefined || entry.seq === undefined) return;
      editing = { conversationId: entry.conversationId, seq: entry.seq };
      text.value = entry.content;
      renderPane();
      text.focus();
    },
    onDelete: (entry: TimelineEntry) => {
      if (entry.conversationId === undefined || entry.seq === undefined) return;
      if (editing?.seq === entry.seq && editing.conversationId === entry.conversationId) stopEditing();
      client.deleteMessage(entry.conversationId, entry.seq).catch((error: unknown) => {
        showError(`Could not delete: ${describe(error)}`);
      });
    },
    onReact: (entry: TimelineEntry, emoji: string, on: boolean) => {
      if (entry.conversationId === undefined || entry.seq === undefined) return;
      client.react(entry.conversationId, entry.seq, emoji, on).catch((error: unknown) => {
        showError(`Could not react: ${describe(error)}`);
      });
    },
  };

  /** Block or Unblock the other user of a direct conversation (protocol.md 1.2). */
  const blockButton = (peer: string, blocked: boolean): HTMLElement => {
    const button = h(
      'button',
      { className: 'link', testId: blocked ? 'unblock' : 'block', attrs: { type: 'button' } },
      blocked ? 'Unblock' : 'Block',
    );
    button.addEventListener('click', () => {
      (blocked ? client.unblock(peer) : client.block(peer)).then(render, (error: unknown) => {
        showError(`Could not ${blocked ? 'unblock' : 'block'}: ${describe(error)}`);
      });
    });
    return button;
  };

  /** (1.2) Accepts a message request: the list event that follows moves it to the conversations. */
  const accept = (conversationId: string) => {
    client.acceptRequest(conversationId).catch((error: unknown) => {
      showError(`Could not accept: ${describe(error)}`);
    });
  };

  /** (1.2) Declines a message request by hiding it (leaveConversation); Block is the other way. */
  const decline = (conversationId: string) => {
    client.leaveConversation(conversationId).catch((error: unknown) => {
      showError(`Could not decline: ${describe(error)}`);
    });
  };

  const select = (target: Target) => {
    editing = undefined;
    selected = target;
    chatError.textContent = '';
    render();
    text.focus();
  };

  function render(): void {
    const listView: ListView = {
      me,
      selected: selected !== undefined && 'conversationId' in selected ? selected.conversationId : undefined,
      presenceOf: (userId) => client.presenceOf(userId),
      onSelect: (conversationId) => select({ conversationId }),
    };
    // (1.2) Requests apart: accepting one (or replying in it) moves it to the conversations.
    const { requests, others } = splitRequests(summaries);
    renderRequestList(requestList, requests, { ...listView, onAccept: accept, onDecline: decline });
    requestSection.hidden = requests.length === 0;
    renderConversationList(list, others, listView);
    noConversations.hidden = others.length > 0;
    const unread = summaries.reduce((total, summary) => total + summary.unread, 0);
    document.title = `${unread > 0 ? `(${unread}) ` : ''}${me} · Parley demo`;
    renderPane();
  }

  function renderPane(): void {
    text.disabled = send.disabled = photo.disabled = selected === undefined;
    editBar.hidden = editing === undefined;
    send.textContent = editing === undefined ? 'Send' : 'Save';
    if (selected === undefined) {
      title.textContent = 'Pick a conversation';
      details.replaceChildren();
      renderMessages(messages, []);
      typing.textContent = '';
      return;
    }
    const conversationId = 'conversationId' in selected ? selected.conversationId : undefined;
    const conversation = conversationId === undefined ? undefined : conversationOf(conversationId);
    const peer = 'to' in selected ? selected.to : conversation && peerOf(conversation, me);
    title.textContent = conversation ? conversationName(conversation, me) : (peer ?? '');
    if (peer !== undefined) {
      const presence = client.presenceOf(peer);
      const status = presence?.status ?? 'unknown';
      const seen = presence?.lastSeen ? `, last seen ${timeOf(presence.lastSeen)}` : '';
      const label =
        conversation === undefined
          ? 'your first message starts the conversation'
          : status === 'unknown'
            ? 'presence not known yet'
            : status;
      const blocked = client.isBlocked(peer);
      // (1.2) A blocked user: no presence, and the composer waits for an unblock.
      text.disabled = send.disabled = photo.disabled = blocked;
      details.replaceChildren(
        ...(blocked
          ? [`You block ${peer}. `]
          : [presenceDot(peer, status), ` ${peer}: ${label}${status === 'offline' ? seen : ''} `]),
        blockButton(peer, blocked),
      );
    } else {
      details.replaceChildren(`Members: ${conversation?.members.join(', ') ?? ''}`);
    }
    const receipts = {
      readBy: conversationId === undefined ? new Map() : client.readBy(conversationId),
      deliveredTo: conversationId === undefined ? new Map() : client.deliveredTo(conversationId),
    };
    renderMessages(messages, timeline.entries(selected, receipts), actions);
    typing.textContent = typingLine(conversationId === undefined ? [] : client.typingIn(conversationId));
    if (conversationId !== undefined) markReadIfSeen(conversationId);
  }

  /**
   * Opening a conversation, or a message arriving in the open one while the page is visible, reads it
   * to its end, the user's own messages included: the server counts unread as the newest seq from
   * others minus the read position, so the user's reply between two of theirs would stay counted.
   */
  function markReadIfSeen(conversationId: string): void {
    if (document.visibilityState !== 'visible') return;
    const last = timeline.lastSeq(conversationId);
    const readSeq = summaries.find((summary) => summary.conversationId === conversationId)?.readSeq ?? 0;
    if (last <= readSeq || last <= (readAsked.get(conversationId) ?? 0)) return;
    readAsked.set(conversationId, last);
    client.markRead(conversationId, last).catch((error: unknown) => {
      readAsked.delete(conversationId);
      showError(`Could not mark as read: ${describe(error)}`);
    });
  }

  let registered = false;
  client.on('state', (change) => {
    state.dataset.state = change.state;
    state.textContent = `Connection: ${change.state}${change.reason ? ` (${change.reason})` : ''}`;
    if (change.state === 'open' && !registered) {
      registered = true;
      // A push goes only to registered devices of users with no open connection.
      client.registerDevice('fcm', `demo-${me}`).catch((error: unknown) => {
        registered = false;
        showError(`Could not register for pushes: ${describe(error)}`);
      });
    }
  });
  client.on('message', (message) => {
    timeline.add(message);
    render();
  });
  client.on('messageUpdated', (update) => {
    // The SDK has applied the change to its copy: the page shows that copy, as a sync would give it.
    const current = client.message(update.conversationId, update.seq);
    if (current !== undefined) timeline.update(current);
    renderPane();
  });
  client.on('left', () => render());
  client.on('pending', (pending) => {
    timeline.addPending(pending);
    renderPane();
  });
  client.on('sent', ({ pending, message }) => {
    timeline.add(message);
    if (
      selected !== undefined &&
      'to' in selected &&
      'to' in pending.target &&
      pending.target.to === selected.to
    ) {
      selected = { conversationId: message.conversationId };
    }
    render();
  });
  client.on('sendFailed', ({ pending, error }) => {
    timeline.failed(pending, `${error.code}: ${error.message}`);
    showError(`Not sent: ${error.message}`);
    renderPane();
  });
  client.on('typing', renderPane);
  client.on('read', renderPane);
  client.on('delivered', renderPane);
  client.on('presence', render);
  client.on('conversation', (conversation) => {
    known.set(conversation.conversationId, conversation);
    render();
  });
  client.on('conversations', (next) => {
    summaries = next;
    // The draft `{ to }` becomes the direct conversation as soon as it exists.
    const draft = selected !== undefined && 'to' in selected ? directWith(selected.to) : undefined;
    if (draft !== undefined) selected = { conversationId: draft };
    render();
  });
  client.on('error', (error) => showError(`${error.code}: ${error.message}`));
  document.addEventListener('visibilitychange', renderPane);

  text.addEventListener('input', () => {
    // Typing needs a conversation: before the first message creates it the server answers forbidden.
    if (selected === undefined || !('conversationId' in selected)) return;
    if (text.value.trim() === '') client.stopTyping(selected);
    else client.typing(selected);
  });
  text.addEventListener('keydown', (event) => {
    // Enter sends, Shift+Enter starts a new line; not while an input method is composing.
    if (event.key === 'Escape' && editing !== undefined) {
      event.preventDefault();
      stopEditing();
      return;
    }
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    composer.requestSubmit();
  });
  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    const content = text.value.trim();
    if (selected === undefined || content === '') return;
    if (editing !== undefined) {
      const { conversationId, seq } = editing;
      editing = undefined;
      text.value = '';
      renderPane();
      client.editMessage(conversationId, seq, content).catch((error: unknown) => {
        showError(`Could not edit: ${describe(error)}`);
      });
      return;
    }
    text.value = '';
    // A failure arrives as 'sendFailed' (shown on the message), so the promise needs no handling here.
    client.send(selected, content).catch(() => {});
  });

  cancelEdit.addEventListener('click', stopEditing);

  // A photo: uploaded first (requestUpload, then a PUT of the bytes), then sent with the composer's text.
  photo.addEventListener('change', () => {
    const file = photo.files?.[0];
    const target = selected;
    photo.value = '';
    if (file === undefined || target === undefined) return;
    if (!PHOTO_TYPES.has(file.type)) {
      showError(`Not a photo the server takes: ${file.type || 'unknown type'}`);
      return;
    }
    const caption = editing === undefined ? text.value.trim() : '';
    if (editing === undefined) text.value = '';
    uploadStatus.textContent = `Uploading ${file.name}…`;
    client
      .uploadAttachment(file, file.type as UploadContentType)
      .then((uploadId) => {
        uploadStatus.textContent = '';
        // A failure to send arrives as 'sendFailed' (shown on the message).
        client.send(target, caption, { attachments: [{ uploadId }] }).catch(() => {});
      })
      .catch((error: unknown) => {
        uploadStatus.textContent = '';
        showError(`Could not upload the photo: ${describe(error)}`);
      });
  });

  const newForm = byId<HTMLFormElement>('new-conversation');
  const newMembers = byId<HTMLInputElement>('new-members');
  const newTitle = byId<HTMLInputElement>('new-title');
  const newError = byId('new-error');
  newForm.addEventListener('submit', (event) => {
    event.preventDefault();
    newError.textContent = '';
    const ids = parseMembers(newMembers.value, me);
    const bad = ids.find((id) => !USER_ID.test(id));
    if (ids.length === 0) newError.textContent = 'Name at least one other user id.';
    else if (bad !== undefined) newError.textContent = `"${bad}" is not a user id (A-Z a-z 0-9 _ . : @ -).`;
    else if (ids.length === 1 && ids[0] !== undefined) {
      const existing = directWith(ids[0]);
      select(existing === undefined ? { to: ids[0] } : { conversationId: existing });
      newForm.reset();
    } else {
      client
        .createConversation(ids, newTitle.value.trim() || undefined)
        .then((conversation) => {
          known.set(conversation.conversationId, conversation);
          newForm.reset();
          select({ conversationId: conversation.conversationId });
        })
        .catch((error: unknown) => {
          newError.textContent = `Could not create the group: ${describe(error)}`;
        });
    }
  });

  byId('me').textContent = me;
  render();
  client.connect();
  return { close: () => client.close() };
}

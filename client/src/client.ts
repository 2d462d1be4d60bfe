/**
 * `ParleyClient`: the protocol's guarantees made true in the app. It keeps one logical connection
 * (connection.ts), sends through an outbox that survives reconnects and restarts (outbox.ts), hands
 * every message to the app once and in `seq` order per conversation, fetching what a gap or a
 * reconnect may have missed with `sync` (timeline.ts), and keeps the conversation list, receipts,
 * presence and typing indicators current.
 */
import type { BackoffOptions } from './backoff.ts';
import { Connection, type ConnectionState, type StateChange, type TokenProvider } from './connection.ts';
import { ConversationList } from './conversation-list.ts';
import { Emitter } from './emitter.ts';
import { ClientClosedError, ParleyError, UploadError } from './errors.ts';
import { newId, subjectOf } from './ids.ts';
import { Outbox, type PendingMessage } from './outbox.ts';
import type {
  AttachmentRef,
  BlocksFrame,
  ClientFrame,
  Conversation,
  ConversationSummary,
  DeliveredFrame,
  Message,
  MessagesFrame,
  MessageUpdatedFrame,
  PresenceFrame,
  PushPlatform,
  ReadFrame,
  ReportAckFrame,
  ReportReason,
  ServerFrame,
  Target,
  UploadContentType,
  UploadFrame,
} from './protocol.ts';
import { RequestQueue } from './requests.ts';
import type { TokenTransport, WebSocketConstructor } from './socket.ts';
import { JsonSlot, type KeyValueStorage, memoryStorage } from './storage.ts';
import { applyUpdate, isOlder, Timeline } from './timeline.ts';
import { TypingState } from './typing.ts';

export interface ParleyClientOptions {
  /** `wss://{api-id}.execute-api.{region}.amazonaws.com/{stage}`, or `ws://localhost:3001/` locally. */
  readonly url: string;
  /** Called before every connection attempt; never logged. */
  readonly token: TokenProvider;
  /** Names this app install (1–64 of `[A-Za-z0-9_.:-]`): ties the connection to its push registration. */
  readonly deviceId?: string;
  /** Default: the platform's global `WebSocket`. */
  readonly WebSocket?: WebSocketConstructor;
  /** Default `subprotocol`: the token stays out of URLs and access logs. */
  readonly tokenTransport?: TokenTransport;
  /** Keeps the outbox and the highest `seq` held per conversation (storage.ts). Default: in memory. */
  readonly storage?: KeyValueStorage;
  readonly backoff?: BackoffOptions;
  readonly pingIntervalMs?: number;
  readonly pongTimeoutMs?: number;
  readonly maxConnectionMs?: number;
  /** A send with no `ack` this long is sent again, with the same `clientMessageId`. Default 10 s. */
  readonly ackTimeoutMs?: number;
  /** A request (sync, markRead, ...) with no answer this long is sent again. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** For tests: the source of the back-off's jitter. */
  readonly random?: () => number;
}

export interface TypingChange {
  readonly conversationId: string;
  /** Who is typing now, the user excluded. */
  readonly userIds: readonly string[];
}

export interface SentEvent {
  readonly pending: PendingMessage;
  readonly message: Message;
}

export interface SendFailedEvent {
  readonly pending: PendingMessage;
  readonly error: ParleyError;
}

export interface SendOptions {
  /** Up to 10 uploads of the user's own (uploadAttachment's ids); `content` may then be empty. */
  readonly attachments?: readonly AttachmentRef[];
}

/** The part of `fetch` that uploadAttachment uses: the platform's `fetch` fits. */
export type UploadFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: Blob | Uint8Array<ArrayBuffer> },
) => Promise<{ readonly ok: boolean; readonly status: number }>;

export interface UploadOptions {
  /** Default: the platform's global `fetch`. */
  readonly fetch?: UploadFetch;
}

/** (1.2) What report() sends: a message (`seq`) or, without it, the whole conversation. */
export interface ReportInput {
  readonly conversationId: string;
  /** One message; leave it out to report the conversation. */
  readonly seq?: number;
  readonly reason: ReportReason;
  /** For the moderators, at most 1000 characters (trimmed; blank is none). */
  readonly note?: string;
}

export interface Presence {
  readonly status: 'online' | 'offline';
  readonly lastSeen?: string;
}

/** A contact's presence when the connection dropped: no longer known (presenceOf is undefined). */
export interface PresenceUnknown {
  readonly type: 'presence';
  readonly userId: string;
  readonly status: 'unknown';
}

export interface ParleyClientEvents {
  state: (change: StateChange) => void;
  /** Every committed message once, in `seq` order within its conversation: others', and the user's own. */
  message: (message: Message) => void;
  /** A send the server has not acknowledged yet, at once (and again for those restored at start). */
  pending: (pending: PendingMessage) => void;
  sent: (event: SentEvent) => void;
  /** The server refused the send for good (forbidden, too_large, ...): it will not be retried. */
  sendFailed: (event: SendFailedEvent) => void;
  typing: (change: TypingChange) => void;
  read: (read: ReadFrame) => void;
  delivered: (delivered: DeliveredFrame) => void;
  /**
   * A `presence` frame; or, when the connection drops, `unknown` for each user whose presence was known
   * (nothing is heard meanwhile, and the list read at the reconnect may not reach their conversation).
   */
  presence: (presence: PresenceFrame | PresenceUnknown) => void;
  /** A conversation is new, or its members or title changed. */
  conversation: (conversation: Conversation) => void;
  /**
   * A message was edited, deleted or reacted to (by anyone, the user's other devices included): its
   * whole current state. The SDK's copy (messages(), message()) is updated before this is emitted.
   */
  messageUpdated: (update: MessageUpdatedFrame) => void;
  /**
   * The user left a conversation (leaveConversation on this device, or a `left` frame: on another of
   * their devices), or a `conversation` frame no longer lists them: it is gone from the list.
   */
  left: (conversationId: string) => void;
  /** The conversation list changed (order, unread counts, a new conversation). */
  conversations: (list: readonly ConversationSummary[]) => void;
  /** An error frame no request of the app was waiting for. */
  error: (error: ParleyError) => void;
}

const MAX_CONTENT_CHARS = 4000;
const MAX_ATTACHMENTS = 10;
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
const MAX_EMOJI_BYTES = 32;
const MAX_REPORT_NOTE_CHARS = 1000;
const SYNC_PAGE = 100;
/** Rounds of `sync` for one conversation before giving up on a gap until the next message or reconnect. */
const MAX_SYNC_ROUNDS = 3;
/** Pages of one catch-up by version before it stops (the next reconnect goes on from there). */
const MAX_VERSION_PAGES = 1_000;

/** A catch-up of one conversation: by `seq` (new messages) or by `version` (new and changed ones). */
interface SyncRun {
  readonly kind: 'seq' | 'version';
  readonly run: () => Promise<void>;
}

export class ParleyClient extends Emitter<ParleyClientEvents> {
  readonly #storage: KeyValueStorage;
  readonly #connection: Connection;
  readonly #requests: RequestQueue;
  readonly #outbox: Outbox;
  readonly #typing: TypingState;
  readonly #list = new ConversationList();
  readonly #timelines = new Map<string, Timeline>();
  readonly #presence = new Map<string, Presence>();
  /** (1.2) The users this user blocks, as known from block(), blocks() and the list's `blocked`. */
  readonly #blocked = new Set<string>();
  readonly #readBy = new Map<string, Map<string, number>>();
  readonly #deliveredTo = new Map<string, Map<string, number>>();
  /** User id → our direct conversation with them, learnt from acks and conversation frames. */
  readonly #directs = new Map<string, string>();
  /** The catch-up running per conversation, and the one asked for meanwhile (see #exclusiveSync). */
  readonly #syncing = new Map<string, { done: Promise<void>; again?: SyncRun }>();
  /** Groups the user left on this device: what is still in flight to them is dropped. */
  readonly #leftGroups = new Set<string>();
  #userId: string | undefined;
  #restored: Promise<void> | undefined;
  #heldSlot: JsonSlot<Record<string, number>> | undefined;
  #storedHeld: Record<string, number> = {};
  /** (1.2) Per conversation, the version every change up to which has been applied (sync by afterVersion). */
  #storedVersions: Record<string, number> = {};
  #versionSlot: JsonSlot<Record<string, number>> | undefined;
  #heldWriteQueued = false;
  #listRefresh: Promise<readonly ConversationSummary[]> | undefined;

  constructor(options: ParleyClientOptions) {
    super();
    this.#storage = options.storage ?? memoryStorage();
    const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (WebSocket === undefined) throw new TypeError('no WebSocket on this platform: pass options.WebSocket');
    this.#connection = new Connection({
      url: options.url,
      token: async (why) => {
        const token = await options.token(why);
        this.#learnUser(token);
        return token;
      },
      deviceId: options.deviceId,
      WebSocket,
      tokenTransport: options.tokenTransport ?? 'subprotocol',
      backoff: options.backoff,
      pingIntervalMs: options.pingIntervalMs,
      pongTimeoutMs: options.pongTimeoutMs,
      maxConnectionMs: options.maxConnectionMs,
      random: options.random,
    });
    this.#requests = new RequestQueue({
      send: (frame) => this.#connection.send(frame),
      timeoutMs: options.requestTimeoutMs,
    });
    this.#outbox = new Outbox({
      send: (pending) => this.#connection.send(sendFrame(pending)),
      slot: undefined,
      ackTimeoutMs: options.ackTimeoutMs,
      onSent: (pending, message) => this.#onSent(pending, message),
      onFailed: (pending, error) => this.emit('sendFailed', { pending, error }),
    });
    this.#typing = new TypingState(
      (target, state) => this.#sendTyping(target, state),
      (conversationId, userIds) => this.emit('typing', { conversationId, userIds }),
    );
    this.#connection.on('state', (change) => this.#onState(change));
    this.#connection.on('open', () => void this.#onOpen());
    this.#connection.on('frame', (frame) => this.#onFrame(frame));
  }

  /** The user's id (the token's `sub`), once the first token is known. */
  get userId(): string | undefined {
    return this.#userId;
  }

  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** The conversation list, newest activity first, as fetched at (re)connect and kept current since. */
  get conversations(): readonly ConversationSummary[] {
    return this.#list.summaries;
  }

  /** Sends not acknowledged yet, oldest first within each conversation. */
  get pending(): readonly PendingMessage[] {
    return this.#outbox.pending;
  }

  connect(): void {
    if (this.#userId !== undefined) this.#restored = this.#restore(this.#userId);
    this.#connection.start();
  }

  /** Closes for good; unacknowledged sends stay in storage for the next connect(). */
  close(): void {
    this.#connection.stop('closed_by_app');
  }

  /** The network is back (the app's connectivity listener): reconnect now instead of after the back-off. */
  networkOnline(): void {
    this.#connection.networkOnline();
  }

  /**
   * Sends `content` to a conversation or a user. Shown at once as pending (the `pending` event);
   * resolves with the committed message once acknowledged, however many reconnects that takes.
   */
  send(target: Target, content: string, options: SendOptions = {}): Promise<Message> {
    const trimmed = content.trim();
    const attachments = options.attachments?.map(({ uploadId }) => ({ uploadId })) ?? [];
    if (attachments.length > MAX_ATTACHMENTS) {
      return Promise.reject(new ParleyError('too_large', `more than ${MAX_ATTACHMENTS} attachments`));
    }
    if (trimmed.length === 0 && attachments.length === 0) {
      return Promise.reject(new ParleyError('bad_request', 'content is empty'));
    }
    if (trimmed.length > MAX_CONTENT_CHARS) {
      return Promise.reject(new ParleyError('too_large', `content is over ${MAX_CONTENT_CHARS} characters`));
    }
    this.#typing.stop(target);
    const conversationId = 'conversationId' in target ? target.conversationId : this.#directs.get(target.to);
    const pending: PendingMessage = {
      clientMessageId: newId(),
      target: conversationId === undefined ? target : { conversationId },
      conversationId,
      content: trimmed,
      ...(attachments.length > 0 && { attachments }),
      createdAt: new Date().toISOString(),
    };
    const committed = this.#outbox.add(pending);
    this.emit('pending', pending);
    return committed;
  }

  /** Call on every keystroke in the composer: `typing` frames are debounced (typing.ts). */
  typing(target: Target): void {
    this.#typing.keystroke(target);
  }

  stopTyping(target: Target): void {
    this.#typing.stop(target);
  }

  /** Who is typing in a conversation now (others). */
  typingIn(conversationId: string): readonly string[] {
    return this.#typing.typingIn(conversationId);
  }

  /** Marks everything up to `seq` read (default: every message held in that conversation). */
  async markRead(conversationId: string, seq?: number): Promise<void> {
    const upTo = seq ?? this.#timeline(conversationId).held;
    if (upTo < 1) return;
    await this.#requests.request({
      channel: 'markRead',
      frame: { action: 'markRead', conversationId, seq: upTo },
      answer: (frame) =>
        frame.type === 'read' &&
        frame.conversationId === conversationId &&
        frame.userId === this.#userId &&
        frame.seq >= upTo
          ? true
          : undefined,
      isMine: (error) => error.action === 'markRead',
    });
  }

  /** A group (or the direct conversation, for one other member); idempotent across retries. */
  createConversation(members: readonly string[], title?: string): Promise<Conversation> {
    const clientRequestId = newId();
    const frame: ClientFrame =
      title === undefined
        ? { action: 'createConversation', clientRequestId, members: [...members] }
        : { action: 'createConversation', clientRequestId, members: [...members], title };
    const wanted = new Set([...members, ...(this.#userId === undefined ? [] : [this.#userId])]);
    return this.#requests.request({
      channel: 'createConversation',
      frame,
      answer: (answer) =>
        answer.type === 'conversation' &&
        answer.members.length === wanted.size &&
        answer.members.every((member) => wanted.has(member))
          ? answer
          : undefined,
      isMine: (error) => error.clientRequestId === clientRequestId,
    });
  }

  /**
   * Fetches the conversation list again: every page the first time (or until a fetch of every page has
   * completed), after that page by page until one that ends with an entry the SDK holds unchanged (the
   * server lists the latest changed first). Resolves with the whole list held.
   */
  refreshConversations(): Promise<readonly ConversationSummary[]> {
    this.#listRefresh ??= this.#fetchList().finally(() => {
      this.#listRefresh = undefined;
    });
    return this.#listRefresh;
  }

  /**
   * Fetches the conversation list and syncs every conversation that is ahead of what is held. Runs by
   * itself on every (re)connect; call it when the app returns to the foreground, where a message whose
   * delivery failed for good (and no later message revealed the gap) would otherwise wait for the next
   * reconnect.
   */
  async catchUp(): Promise<void> {
    const list = await this.refreshConversations();
    // (1.2) A conversation whose version is beyond what was applied: its new and changed messages. Those
    // the fetch read, and any entry not read whose catch-up was cut short (a close, MAX_VERSION_PAGES):
    // unchanged since, the server will not list it as new again.
    const changed = new Set(
      list
        .filter(
          (summary) =>
            summary.version !== undefined &&
            summary.version > (this.#storedVersions[summary.conversationId] ?? 0),
        )
        .map((summary) => summary.conversationId),
    );
    // A 1.1 server's list has no version: new messages by seq.
    const behind = list.filter(
      (summary) =>
        summary.version === undefined && summary.lastSeq > this.#timeline(summary.conversationId).held,
    );
    const gapped = [...this.#timelines].filter(([, timeline]) => timeline.hasGap).map(([id]) => id);
    const bySeq = new Set([...behind.map((summary) => summary.conversationId), ...gapped]);
    await Promise.all([
      ...[...changed].map((id) => this.#catchUpChanges(id)),
      ...[...bySeq].filter((id) => !changed.has(id)).map((id) => this.#catchUp(id)),
    ]);
  }

  presenceOf(userId: string): Presence | undefined {
    return this.#presence.get(userId);
  }

  /** Other members' read positions in a conversation, as `read` frames told them. */
  readBy(conversationId: string): ReadonlyMap<string, number> {
    return this.#readBy.get(conversationId) ?? new Map();
  }

  /** Other members' delivery positions for the user's messages, as `delivered` frames told them. */
  deliveredTo(conversationId: string): ReadonlyMap<string, number> {
    return this.#deliveredTo.get(conversationId) ?? new Map();
  }

  /** The highest contiguous `seq` handed to the app in a conversation. */
  heldSeq(conversationId: string): number {
    return this.#timeline(conversationId).held;
  }

  /** Registers this install (needs `deviceId`) for push while the user has no open connection. */
  async registerDevice(platform: PushPlatform, token: string): Promise<void> {
    await this.#deviceRequest({ action: 'registerDevice', platform, token });
  }

  async unregisterDevice(): Promise<void> {
    await this.#deviceRequest({ action: 'unregisterDevice' });
  }

  // ---- changes to messages and conversations ---------------------------------------------------------
  //
  // The acks of editMessage, deleteMessage, react and leaveConversation carry no id of the request (an
  // `action`, and the `seq` for edits and deletions), and their errors only the `action`. So each action
  // has its own request channel (requests.ts), one request in flight at a time, first in first out: an
  // ack or an error naming the action answers the channel's head, which the `seq` (where the ack has
  // one) confirms. Only one in flight is also what keeps the user's order: each frame runs in its own
  // Lambda, so a reaction added and then removed, sent together, could be applied the other way round.
  // Each of these is safe to send again (after a reconnect, a timeout, `internal`): the same edit, a
  // deletion again (acknowledged like the first), a reaction set again, a leave again (see below).

  /** Replaces the content of one of the user's own messages. Resolves on the server's ack. */
  async editMessage(conversationId: string, seq: number, content: string): Promise<void> {
    const trimmed = content.trim();
    if (trimmed.length === 0) throw new ParleyError('bad_request', 'content is empty', 'editMessage');
    if (trimmed.length > MAX_CONTENT_CHARS) {
      throw new ParleyError('too_large', `content is over ${MAX_CONTENT_CHARS} characters`, 'editMessage');
    }
    await this.#requests.request({
      channel: 'editMessage',
      frame: { action: 'editMessage', conversationId, seq, content: trimmed },
      answer: (frame) =>
        frame.type === 'ack' && frame.action === 'editMessage' && frame.seq === seq ? true : undefined,
      isMine: (error) => error.action === 'editMessage',
    });
  }

  /** Deletes one of the user's own messages: it stays as a tombstone (`deleted`, content `""`). */
  async deleteMessage(conversationId: string, seq: number): Promise<void> {
    await this.#requests.request({
      channel: 'deleteMessage',
      frame: { action: 'deleteMessage', conversationId, seq },
      answer: (frame) =>
        frame.type === 'ack' && frame.action === 'deleteMessage' && frame.seq === seq ? true : undefined,
      isMine: (error) => error.action === 'deleteMessage',
    });
  }

  /** Adds (`on`, the default) or removes the user's reaction with one emoji; idempotent. */
  async react(conversationId: string, seq: number, emoji: string, on = true): Promise<void> {
    const bytes = new TextEncoder().encode(emoji).length;
    if (bytes === 0 || bytes > MAX_EMOJI_BYTES) {
      throw new ParleyError('bad_request', `emoji must be 1-${MAX_EMOJI_BYTES} bytes of UTF-8`, 'react');
    }
    await this.#requests.request({
      channel: 'react',
      frame: { action: 'react', conversationId, seq, emoji, on },
      answer: (frame) => (frame.type === 'ack' && frame.action === 'react' ? true : undefined),
      isMine: (error) => error.action === 'react',
    });
  }

  /**
   * Leaves a group (the user stops being a member), or hides a direct conversation until its next
   * message. Once acknowledged, the conversation is dropped from the list (the `left` event).
   */
  async leaveConversation(conversationId: string): Promise<void> {
    await this.#requests.request({
      channel: 'leaveConversation',
      frame: { action: 'leaveConversation', conversationId },
      answer: (frame) => (frame.type === 'ack' && frame.action === 'leaveConversation' ? true : undefined),
      isMine: (error) => error.action === 'leaveConversation',
      // Leaving a group again is refused (no longer a member): sent again, that means the first went through.
      doneDespite: (error, attempts) => (attempts > 1 && error.code === 'forbidden' ? true : undefined),
    });
    // The server's `left` frame may have come first and dropped it already.
    if (!this.#leftGroups.has(conversationId)) this.#dropConversation(conversationId);
  }

  // ---- blocks (protocol.md 1.2) ---------------------------------------------------------------------
  //
  // Enforced by the server, whatever a client sends: a blocked user cannot write to the blocker or put
  // them in a group, nothing (presence, typing, receipts) passes between the two, and their messages in
  // shared groups arrive `hidden` (show "Message from a blocked user"). Blocking and unblocking are
  // idempotent, so a retry after a reconnect or a timeout is safe.

  /**
   * Blocks `userId`. Resolves on the ack: from then on nothing of theirs reaches this user whole, and
   * their presence is no longer known here.
   */
  async block(userId: string): Promise<void> {
    await this.#setBlock(userId, true);
    this.#blocked.add(userId);
    this.#presence.delete(userId);
  }

  /** Unblocks `userId`. Messages they could not send while blocked stay unsent. */
  async unblock(userId: string): Promise<void> {
    await this.#setBlock(userId, false);
    this.#blocked.delete(userId);
  }

  /** The users this user blocks, sorted, from the server. */
  async blocks(): Promise<readonly string[]> {
    const frame = await this.#requests.request<BlocksFrame>({
      channel: 'listBlocks',
      frame: { action: 'listBlocks' },
      answer: (answer) => (answer.type === 'blocks' ? answer : undefined),
      isMine: (error) => error.action === 'listBlocks',
    });
    this.#blocked.clear();
    for (const userId of frame.userIds) this.#blocked.add(userId);
    return frame.userIds;
  }

  /**
   * Whether this user blocks `userId`, as far as this client knows (block(), blocks(), and the list's
   * direct conversations): a UI offers "Unblock" instead of the composer.
   */
  isBlocked(userId: string): boolean {
    return this.#blocked.has(userId);
  }

  async #setBlock(userId: string, on: boolean): Promise<void> {
    await this.#requests.request({
      channel: 'block',
      frame: { action: 'block', userId, on },
      answer: (frame) => (frame.type === 'ack' && frame.action === 'block' ? true : undefined),
      isMine: (error) => error.action === 'block',
    });
  }

  // ---- message requests (protocol.md 1.2) ---------------------------------------------------------
  //
  // With the deployment's contact policy `requests`, a direct conversation another user starts is listed
  // with `request: true` until this user writes in it or accepts it; until then the server passes no
  // presence, typing or receipts between the two. Declining is block() or leaveConversation().

  /**
   * Accepts a message request. Resolves on the ack, and the list entry is no longer a request (the
   * `conversations` event). Idempotent on the server, so a retry after a reconnect or a timeout is safe.
   */
  async acceptRequest(conversationId: string): Promise<void> {
    await this.#requests.request({
      channel: 'acceptRequest',
      frame: { action: 'acceptRequest', conversationId },
      answer: (frame) => (frame.type === 'ack' && frame.action === 'acceptRequest' ? true : undefined),
      isMine: (error) => error.action === 'acceptRequest',
    });
    if (this.#list.accept(conversationId)) this.#emitList();
  }

  /**
   * Uploads a file to attach to a message: `requestUpload` (answered by an `upload` frame naming the
   * same `clientRequestId`), then the bytes with the frame's method, URL and headers. Resolves with the
   * `uploadId` to pass to send()'s `attachments`. A failed upload rejects with UploadError.
   */
  async uploadAttachment(
    file: Blob | Uint8Array<ArrayBuffer>,
    contentType: UploadContentType,
    options: UploadOptions = {},
  ): Promise<string> {
    const size = file instanceof Uint8Array ? file.byteLength : file.size;
    if (size > MAX_UPLOAD_BYTES) {
      throw new ParleyError('too_large', 'a file is at most 25 MiB', 'requestUpload');
    }
    const fetch = options.fetch ?? (globalThis as { fetch?: UploadFetch }).fetch;
    if (fetch === undefined) throw new TypeError('no fetch on this platform: pass options.fetch');
    const clientRequestId = newId();
    // Sent again with the same clientRequestId, the request names the same upload (with a fresh URL).
    const upload = await this.#requests.request<UploadFrame>({
      channel: `requestUpload:${clientRequestId}`,
      frame: { action: 'requestUpload', clientRequestId, contentType, size },
      answer: (frame) =>
        frame.type === 'upload' && frame.clientRequestId === clientRequestId ? frame : undefined,
      isMine: (error) => error.clientRequestId === clientRequestId,
    });
    let response: { readonly ok: boolean; readonly status: number };
    try {
      response = await fetch(upload.url, {
        method: upload.method,
        headers: { ...upload.headers },
        body: file,
      });
    } catch (error) {
      throw new UploadError(`the upload failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!response.ok)
      throw new UploadError(`the upload was refused with HTTP ${response.status}`, response.status);
    return upload.uploadId;
  }

  /**
   * (1.2) Reports a message (`seq`) or the conversation to the operator's moderators, who get a copy of
   * it as it is now (a later edit or deletion erases no evidence). Resolves with the report's id. Sent
   * again after a reconnect or a timeout with the same `clientRequestId`, it names the same report:
   * never two. Refused with `forbidden` outside a conversation of the user's, `not_found` for a `seq`
   * with no message.
   */
  async report(input: ReportInput): Promise<string> {
    const note = input.note?.trim() ?? '';
    if (Array.from(note).length > MAX_REPORT_NOTE_CHARS) {
      throw new ParleyError('too_large', `note is over ${MAX_REPORT_NOTE_CHARS} characters`, 'report');
    }
    const clientRequestId = newId();
    const ack = await this.#requests.request<ReportAckFrame>({
      channel: `report:${clientRequestId}`,
      frame: {
        action: 'report',
        clientRequestId,
        conversationId: input.conversationId,
        ...(input.seq !== undefined && { seq: input.seq }),
        reason: input.reason,
        ...(note !== '' && { note }),
      },
      answer: (frame) =>
        frame.type === 'ack' && frame.action === 'report' && frame.clientRequestId === clientRequestId
          ? frame
          : undefined,
      isMine: (error) => error.clientRequestId === clientRequestId,
    });
    return ack.reportId;
  }

  /** The messages handed on in a conversation during this run, ascending seq, edits and reactions applied. */
  messages(conversationId: string): readonly Message[] {
    return this.#timelines.get(conversationId)?.messages ?? [];
  }

  /** One message handed on during this run, in its current state. */
  message(conversationId: string, seq: number): Message | undefined {
    return this.#timelines.get(conversationId)?.message(seq);
  }

  /**
   * Typing is ephemeral: sent only on an open socket, and only into a conversation that exists (the
   * server refuses typing to a user before the first message, and the refusal would only be noise).
   */
  #sendTyping(target: Target, state: 'start' | 'stop'): void {
    const conversationId = 'conversationId' in target ? target.conversationId : this.#directs.get(target.to);
    if (conversationId !== undefined) this.#connection.send({ action: 'typing', state, conversationId });
  }

  // ---- what arrives ------------------------------------------------------------------------------

  #onFrame(frame: ServerFrame): void {
    const answered = this.#requests.onFrame(frame);
    switch (frame.type) {
      case 'message':
        this.#typing.clear(frame.conversationId, frame.senderId);
        this.#receive(messageOf(frame));
        return;
      case 'ack':
        if (frame.action === 'sendMessage') this.#outbox.onAck(frame, this.#userId ?? '');
        return;
      case 'error':
        if (!answered && !this.#outbox.onError(frame)) this.emit('error', ParleyError.from(frame));
        return;
      case 'typing':
        if (frame.userId !== this.#userId) this.#typing.onFrame(frame);
        return;
      case 'presence':
        this.#presence.set(frame.userId, frame.lastSeen === undefined ? { status: frame.status } : frame);
        this.emit('presence', frame);
        return;
      case 'read':
        if (frame.userId !== this.#userId) raise(this.#readBy, frame.conversationId, frame.userId, frame.seq);
        this.#list.onRead(frame, this.#userId);
        this.emit('read', frame);
        this.#emitList();
        return;
      case 'delivered':
        raise(this.#deliveredTo, frame.conversationId, frame.userId, frame.seq);
        this.emit('delivered', frame);
        return;
      case 'messageUpdated':
        this.#onMessageUpdated(frame);
        return;
      case 'left':
        this.#onLeft(frame.conversationId);
        return;
      case 'conversation': {
        const { type: _, ...conversation } = frame;
        if (this.#userId !== undefined && !conversation.members.includes(this.#userId)) {
          // No longer a member (removed elsewhere): what it held goes.
          this.#dropConversation(conversation.conversationId, 'group');
          return;
        }
        this.#leftGroups.delete(conversation.conversationId);
        this.#learnDirect(conversation);
        const isNew = this.#list.get(conversation.conversationId) === undefined;
        this.#list.onConversation(conversation);
        this.emit('conversation', conversation);
        this.#emitList();
        // (1.2) Only the list says whether a new direct conversation is a message request.
        if (isNew && conversation.kind === 'direct') void this.refreshConversations().catch(ignore);
        return;
      }
      default:
        // messages, conversations, pong, device acks: answers to requests, handled above.
        return;
    }
  }

  #onMessageUpdated(frame: MessageUpdatedFrame): void {
    if (this.#leftGroups.has(frame.conversationId)) return;
    const updated = this.#timeline(frame.conversationId).update(frame);
    const summary = this.#list.get(frame.conversationId);
    const last = summary?.lastMessage;
    if (last?.seq === frame.seq && !isOlder(frame, last)) {
      this.#list.onMessageChanged(updated ?? applyUpdate(last, frame));
    }
    this.emit('messageUpdated', frame);
    if (last?.seq === frame.seq) this.#emitList();
  }

  /**
   * (1.2) The user left on some device (this one's own leave included): the conversation goes as it does
   * for leaveConversation, once. A group already dropped, or a direct conversation no longer listed,
   * has nothing left to drop.
   */
  #onLeft(conversationId: string): void {
    const kind = this.#kindOf(conversationId);
    if (this.#leftGroups.has(conversationId)) return;
    if (kind !== 'group' && this.#list.get(conversationId) === undefined) return;
    this.#dropConversation(conversationId, kind);
  }

  /**
   * Left, or no longer a member. A group goes with all it held; a direct conversation only leaves the
   * list (its next message brings it back, after the seq held, so it does not sync from the start).
   */
  #dropConversation(conversationId: string, kind = this.#kindOf(conversationId)): void {
    const listed = this.#list.remove(conversationId);
    if (kind === 'group') {
      this.#leftGroups.add(conversationId);
      this.#timelines.delete(conversationId);
      this.#readBy.delete(conversationId);
      this.#deliveredTo.delete(conversationId);
      if (conversationId in this.#storedHeld || conversationId in this.#storedVersions) {
        delete this.#storedHeld[conversationId];
        delete this.#storedVersions[conversationId];
        this.#queueHeldWrite();
      }
    }
    this.emit('left', conversationId);
    if (listed) this.#emitList();
  }

  /** Unknown when neither the list nor a direct conversation learnt so far names it. */
  #kindOf(conversationId: string): 'direct' | 'group' | undefined {
    const listed = this.#list.get(conversationId)?.kind;
    if (listed !== undefined) return listed;
    return [...this.#directs.values()].includes(conversationId) ? 'direct' : undefined;
  }

  /** A committed message (live, from sync, or our own ack) into its timeline; hands on what is ready. */
  #receive(message: Message): void {
    if (this.#leftGroups.has(message.conversationId)) return;
    const timeline = this.#timeline(message.conversationId);
    const ready = timeline.accept(message);
    for (const next of ready) {
      // Sending reads (protocol.md 1.2): another member's message says they read up to it.
      if (next.senderId !== this.#userId) raise(this.#readBy, next.conversationId, next.senderId, next.seq);
      if (!this.#list.onMessage(next, this.#userId)) void this.refreshConversations().catch(ignore);
      this.emit('message', next);
    }
    if (ready.length > 0) {
      this.#storedHeld[message.conversationId] = timeline.held;
      this.#queueHeldWrite();
      this.#emitList();
    }
    if (timeline.hasGap) void this.#catchUp(message.conversationId);
  }

  #onSent(pending: PendingMessage, message: Message): Message | Promise<Message> {
    if ('to' in pending.target) this.#directs.set(pending.target.to, message.conversationId);
    // Writing in a request accepts it (protocol.md 1.2), even while the message waits behind a gap.
    if (this.#list.accept(message.conversationId)) this.#emitList();
    this.emit('sent', { pending, message });
    if ((pending.attachments?.length ?? 0) === 0) {
      this.#receive(message);
      return message;
    }
    // The ack names no attachment: the message as members see it (download links) comes from sync.
    return this.#fetchOne(message).then((full) => {
      this.#receive(full);
      return full;
    });
  }

  /** One committed message as `sync` gives it; the one given when that fails. */
  async #fetchOne(message: Message): Promise<Message> {
    const { conversationId, seq } = message;
    try {
      const page = await this.#requests.request({
        channel: 'sync',
        frame: { action: 'sync', conversationId, afterSeq: seq - 1, limit: 1 },
        answer: (frame) =>
          frame.type === 'messages' && frame.conversationId === conversationId ? frame : undefined,
        isMine: (error) => error.action === 'sync',
      });
      return page.messages.find((found) => found.seq === seq) ?? message;
    } catch {
      return message;
    }
  }

  #onState(change: StateChange): void {
    this.emit('state', change);
    if (change.state !== 'open') this.#forgetPresence();
    if (change.state !== 'closed') return;
    const closed = new ClientClosedError(`the client closed (${change.reason ?? 'closed'})`);
    this.#requests.failAll(closed);
    this.#outbox.abandon(closed);
    this.#typing.dispose();
  }

  /** Every socket that opens: resend what is unacknowledged, then fetch whatever was missed. */
  async #onOpen(): Promise<void> {
    await this.#restored;
    this.#outbox.resume();
    this.#requests.onOpen();
    try {
      await this.catchUp();
    } catch (error) {
      if (!(error instanceof ClientClosedError)) this.emit('error', asParleyError(error));
    }
  }

  /** `sync` from the held seq until `hasMore` is false; again if a gap is left (a message that arrived meanwhile). */
  #catchUp(conversationId: string): Promise<void> {
    return this.#exclusiveSync(conversationId, 'seq', async () => {
      for (let round = 0; round < MAX_SYNC_ROUNDS; round += 1) {
        let hasMore = true;
        while (hasMore) {
          const page = await this.#syncPage(conversationId, this.#timeline(conversationId).held);
          for (const message of page.messages) this.#receive(message);
          hasMore = page.hasMore && page.messages.length > 0;
        }
        if (!this.#timeline(conversationId).hasGap) break;
      }
    });
  }

  /**
   * (1.2) `sync` by `afterVersion` from the version applied so far, until the server has no more: new
   * messages go into the timeline, messages already handed on are applied as updates (`messageUpdated`).
   */
  async #catchUpChanges(conversationId: string): Promise<void> {
    await this.#exclusiveSync(conversationId, 'version', async () => {
      let version = this.#storedVersions[conversationId] ?? 0;
      for (let page = 0; page < MAX_VERSION_PAGES; page += 1) {
        const answer = await this.#requests.request({
          channel: 'sync',
          frame: { action: 'sync', conversationId, afterVersion: version, limit: SYNC_PAGE },
          answer: (frame) =>
            frame.type === 'messages' && frame.conversationId === conversationId ? frame : undefined,
          isMine: (error) => error.action === 'sync',
        });
        for (const message of answer.messages) this.#receiveCurrent(message);
        version = answer.version ?? version;
        if (!answer.hasMore || answer.messages.length === 0) break;
      }
      if (version > (this.#storedVersions[conversationId] ?? 0)) {
        this.#storedVersions[conversationId] = version;
        this.#queueHeldWrite();
      }
    });
    if (this.#timeline(conversationId).hasGap) await this.#catchUp(conversationId);
  }

  /**
   * One catch-up per conversation at a time; a request made while one runs waits for it. A catch-up of
   * changes asked for meanwhile is not dropped: the running one may have read before the change that
   * prompted it (a reconnect's catch-up racing a reaction whose frame was lost with a socket), so it
   * runs once more when the first is done, shared by every such request. Its failure is reported, but
   * for `forbidden` (no longer a member) and a closed client (the next connect() catches up).
   */
  #exclusiveSync(conversationId: string, kind: SyncRun['kind'], run: () => Promise<void>): Promise<void> {
    const running = this.#syncing.get(conversationId);
    if (running !== undefined) {
      // A catch-up by seq loops until no gap is left by itself; changes need another pass.
      if (kind === 'version') running.again = { kind, run };
      return running.done;
    }
    const slot: { done: Promise<void>; again?: SyncRun } = { done: Promise.resolve() };
    slot.done = (async () => {
      let next: SyncRun | undefined = { kind, run };
      try {
        while (next !== undefined) {
          slot.again = undefined;
          await next.run();
          next = slot.again;
        }
      } catch (error) {
        if (
          !(error instanceof ClientClosedError) &&
          !(error instanceof ParleyError && error.code === 'forbidden')
        ) {
          this.emit('error', asParleyError(error));
        }
      } finally {
        this.#syncing.delete(conversationId);
      }
    })();
    this.#syncing.set(conversationId, slot);
    return slot.done;
  }

  /** A message in its current state (sync by version): new, or an update of one handed on already. */
  #receiveCurrent(message: Message): void {
    if (message.seq > this.#timeline(message.conversationId).held) {
      this.#receive(message);
      return;
    }
    this.#onMessageUpdated({
      type: 'messageUpdated',
      conversationId: message.conversationId,
      messageId: message.messageId,
      seq: message.seq,
      ...(message.version !== undefined && { version: message.version }),
      content: message.content,
      editedAt: message.editedAt ?? null,
      deleted: message.deleted === true,
      reactions: message.reactions ?? {},
    });
  }

  #syncPage(conversationId: string, afterSeq: number): Promise<MessagesFrame> {
    return this.#requests.request({
      channel: 'sync',
      frame: { action: 'sync', conversationId, afterSeq, limit: SYNC_PAGE },
      answer: (frame) =>
        frame.type === 'messages' && frame.conversationId === conversationId ? frame : undefined,
      isMine: (error) => error.action === 'sync',
    });
  }

  /**
   * The server lists the latest changed entry first (presence aside), so once a full fetch is held, the
   * first page that ends with an entry held unchanged means every later page is unchanged too. Pages
   * are applied only when the fetch ends: one cut short must not mark as held what it never read.
   */
  async #fetchList(): Promise<readonly ConversationSummary[]> {
    let full = !this.#list.complete;
    const read: ConversationSummary[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#requests.request({
        channel: 'sync',
        frame: cursor === undefined ? { action: 'sync' } : { action: 'sync', cursor },
        answer: (frame) => (frame.type === 'conversations' ? frame : undefined),
        isMine: (error) => error.action === 'sync',
      });
      read.push(...page.conversations);
      cursor = page.nextCursor ?? undefined;
      // A 1.1 server (no version) orders by newest message: a read or a receipt does not move an entry.
      if (page.conversations.some((summary) => summary.version === undefined)) full = true;
      // Ordered by last change: an entry held unchanged means every entry after it is unchanged too. The
      // page's last one is asked (the oldest change on it), so that a clock a moment off between two
      // writers cannot stop the fetch short.
      const last = page.conversations.at(-1);
      if (!full && last !== undefined && this.#list.unchanged(last)) break;
    } while (cursor !== undefined);
    for (const summary of read) {
      this.#learnDirect(summary);
      this.#leftGroups.delete(summary.conversationId);
      this.#learnReceipts(summary);
    }
    if (full) this.#list.replace(read);
    else this.#list.merge(read);
    this.#emitList();
    return this.#list.summaries;
  }

  async #deviceRequest(
    frame: ClientFrame & { action: 'registerDevice' | 'unregisterDevice' },
  ): Promise<void> {
    await this.#requests.request({
      channel: 'device',
      frame,
      answer: (answer) => (answer.type === 'ack' && answer.action === frame.action ? true : undefined),
      isMine: (error) => error.action === frame.action,
    });
  }

  // ---- state kept ----------------------------------------------------------------------------------

  #learnUser(token: string): void {
    const userId = subjectOf(token);
    if (userId === undefined || userId === this.#userId) return;
    this.#userId = userId;
    this.#restored = this.#restore(userId);
  }

  /** What a previous run stored for this user: unacknowledged sends, and the seq held per conversation. */
  async #restore(userId: string): Promise<void> {
    const prefix = `parley:${encodeURIComponent(userId)}`;
    this.#heldSlot = new JsonSlot(this.#storage, `${prefix}:held`);
    this.#versionSlot = new JsonSlot(this.#storage, `${prefix}:versions`);
    for (const [conversationId, version] of Object.entries(await this.#versionSlot.read({}))) {
      if (typeof version === 'number') this.#storedVersions[conversationId] = version;
    }
    const held = await this.#heldSlot.read({});
    for (const [conversationId, seq] of Object.entries(held)) {
      if (typeof seq === 'number' && seq > this.#timeline(conversationId).held) {
        this.#timelines.set(conversationId, new Timeline(seq));
        this.#storedHeld[conversationId] = seq;
      }
    }
    const restored = await this.#outbox.restore(new JsonSlot(this.#storage, `${prefix}:outbox`));
    for (const pending of restored) this.emit('pending', pending);
  }

  #timeline(conversationId: string): Timeline {
    let timeline = this.#timelines.get(conversationId);
    if (timeline === undefined) {
      timeline = new Timeline();
      this.#timelines.set(conversationId, timeline);
    }
    return timeline;
  }

  #queueHeldWrite(): void {
    if (this.#heldWriteQueued || this.#heldSlot === undefined) return;
    this.#heldWriteQueued = true;
    queueMicrotask(() => {
      this.#heldWriteQueued = false;
      void this.#heldSlot?.write({ ...this.#storedHeld });
      void this.#versionSlot?.write({ ...this.#storedVersions });
    });
  }

  /** (1.2) The ticks and the contact's presence a fresh device shows before any live frame. */
  #learnReceipts(summary: ConversationSummary): void {
    for (const receipt of summary.receipts ?? []) {
      raise(this.#readBy, summary.conversationId, receipt.userId, receipt.readSeq);
      raise(this.#deliveredTo, summary.conversationId, receipt.userId, receipt.deliveredSeq);
    }
    const peer = summary.kind === 'direct' ? summary.members.find((id) => id !== this.#userId) : undefined;
    if (peer !== undefined) {
      if (summary.blocked === true) this.#blocked.add(peer);
      else this.#blocked.delete(peer);
    }
    if (peer !== undefined && summary.presence !== undefined) {
      const { status, lastSeen } = summary.presence;
      this.#presence.set(peer, lastSeen === null || status === 'online' ? { status } : { status, lastSeen });
    }
  }

  /**
   * A lost socket hears no presence, and the catch-up that follows re-reads only the entries that moved
   * (presence does not move them): what is kept until then could be wrong (an `offline` contact may be
   * online now), so it is all forgotten, and learnt again from the entries read and `presence` frames.
   */
  #forgetPresence(): void {
    for (const userId of [...this.#presence.keys()]) {
      this.#presence.delete(userId);
      this.emit('presence', { type: 'presence', userId, status: 'unknown' });
    }
  }

  #learnDirect(conversation: { conversationId: string; kind: string; members: readonly string[] }): void {
    if (conversation.kind !== 'direct') return;
    const other = conversation.members.find((member) => member !== this.#userId);
    if (other !== undefined) this.#directs.set(other, conversation.conversationId);
  }

  #emitList(): void {
    this.emit('conversations', this.#list.summaries);
  }
}

function sendFrame(pending: PendingMessage): ClientFrame {
  return {
    action: 'sendMessage',
    clientMessageId: pending.clientMessageId,
    content: pending.content,
    ...(pending.attachments !== undefined &&
      pending.attachments.length > 0 && {
        attachments: pending.attachments.map(({ uploadId }) => ({ uploadId })),
      }),
    ...targetFields(pending.target),
  };
}

function targetFields(target: Target): { conversationId: string } | { to: string } {
  return 'to' in target ? { to: target.to } : { conversationId: target.conversationId };
}

function messageOf(frame: Message & { type?: string }): Message {
  const { type: _, ...message } = frame;
  return message;
}

function raise(
  positions: Map<string, Map<string, number>>,
  conversationId: string,
  userId: string,
  seq: number,
) {
  const users = positions.get(conversationId) ?? new Map<string, number>();
  positions.set(conversationId, users);
  users.set(userId, Math.max(users.get(userId) ?? 0, seq));
}

function asParleyError(error: unknown): ParleyError {
  return error instanceof ParleyError
    ? error
    : new ParleyError('internal', error instanceof Error ? error.message : String(error));
}

const ignore = (): void => undefined;

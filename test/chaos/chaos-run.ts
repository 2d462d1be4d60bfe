/**
 * One chaos run: pairs of users on the client SDK exchange messages through the local stack while
 * faults are injected (`/_local/faults`), then every promise of architecture.md is checked against the
 * table and against what each client saw: each acked message stored exactly once with gapless seqs,
 * each received by its recipient exactly once after de-duplication (over the socket, or through sync),
 * every edit, deletion and reaction made under the faults shown by both members' clients as the table
 * holds it,
 * no connection item left once every socket is gone, presence sets empty, and the on-failure queue
 * redriven to empty. The figures come back for the report.
 */
import { randomUUID } from 'node:crypto';
import { type Message, ParleyClient, type WebSocketConstructor } from '../../client/src/index.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { describePipeline, type PipelineStatus } from '../../local/stream/stream-route.ts';
import { pipelineIdle } from '../e2e/support/pipeline-idle.ts';
import { localToken } from '../e2e/support/tokens.ts';
import { type ShownMessage, TableAudit } from './table-audit.ts';

export interface ChaosOptions {
  readonly label: string;
  readonly pairs: number;
  readonly messages: number;
  /** The fault rules PUT to `/_local/faults` while the messages are sent; undefined runs without faults. */
  readonly faults: Record<string, unknown> | undefined;
  /** Repeats a run's injected faults. */
  readonly seed?: number;
  /** Empties the on-failure queue by redelivering it; answers how many entries it found and redrove. */
  readonly redrive: (stack: LocalStackProcess) => Promise<{ queued: number; redriven: number }>;
}

export interface ChaosReport {
  readonly label: string;
  readonly sent: number;
  readonly acked: number;
  readonly stored: number;
  readonly deliveredOnSocket: number;
  readonly recoveredBySync: number;
  readonly duplicatesSeen: number;
  /** Edits, deletions and reactions (added or taken back) acknowledged under the faults. */
  readonly changes: number;
  /**
   * Messages whose reactions the table ended with otherwise than the acknowledged requests say. Counted,
   * not a broken promise: the `react` ack carries no request id, so under timeouts the SDK can take one
   * request's ack for the next one's (known, see the SDK's RequestQueue); what both clients show must
   * still be what the table holds.
   */
  readonly reactionsAmiss: number;
  /** Entries in the on-failure queue once the pipeline was idle, and how many the redrive removed. */
  readonly queued: number;
  readonly redriven: number;
  /** Pushes recorded for the users who were offline. */
  readonly pushes: number;
  readonly reconnects: number;
  readonly faultsInjected: unknown;
  /** Each broken promise, in words; empty when every check held. */
  readonly violations: string[];
  /** How long each phase took, in order. */
  readonly phases: readonly { phase: string; seconds: number }[];
}

interface User {
  readonly id: string;
  readonly partner: string;
  readonly client: ParleyClient;
  /** messageId → how many `message` frames carried it on this user's sockets. */
  readonly onSocket: Map<string, number>;
  readonly seen: Message[];
}

const SETTLE_LIMIT_MS = 60_000;

/**
 * Runs one phase of a run and prints how long it took as it ends, so that a slow run shows where its
 * time goes while it is still running (a run cut by the test's timeout prints no table).
 */
function phaseTimer(label: string) {
  const phases: { phase: string; seconds: number }[] = [];
  const started = Date.now();
  return {
    phases,
    async time<T>(phase: string, work: () => Promise<T>): Promise<T> {
      const start = Date.now();
      const result = await work();
      const seconds = Math.round((Date.now() - start) / 100) / 10;
      phases.push({ phase, seconds });
      process.stdout.write(
        `[chaos] ${label}: ${phase} in ${seconds} s (${Math.round((Date.now() - started) / 1000)} s into the run)\n`,
      );
      return result;
    },
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const stack = await startLocalStackProcess({
    LOG_LEVEL: 'error',
    SEND_RATE_PER_SECOND: '1000',
    SEND_BURST: '1000',
  });
  const audit = new TableAudit(stack.dynamoDbEndpoint, stack.tableName);
  const timer = phaseTimer(options.label);
  const users: User[] = [];
  let reconnects = 0;
  try {
    const run = randomUUID().slice(0, 8);
    for (let pair = 0; pair < options.pairs; pair += 1) {
      const a = `chaos-${run}-a${pair}`;
      const b = `chaos-${run}-b${pair}`;
      users.push(newUser(stack, a, b), newUser(stack, b, a));
    }
    for (const user of users) {
      user.client.on('state', ({ state }) => {
        if (state === 'reconnecting') reconnects += 1;
      });
    }
    await Promise.all(users.map((user) => opened(user.client)));
    // Every user has a phone registered, so a recipient whose socket is lost gets pushes meanwhile.
    await Promise.all(users.map((user) => user.client.registerDevice('fcm', `fcm-token-${user.id}`)));
    // Each pair's conversation exists before the faults start (its first message creates it).
    const firsts = await Promise.all(
      users.filter((_, i) => i % 2 === 0).map((user) => user.client.send({ to: user.partner }, 'hello')),
    );
    if (options.faults !== undefined)
      await setFaults(stack, { faults: options.faults, seed: options.seed ?? 1 });

    // WHEN one user in ten is offline (pushes go to their phones), and the messages are sent, spread
    // over every other user, all at once
    const away = users.filter((_, i) => i % 10 === 3);
    for (const user of away) user.client.close();
    const senders = users.filter((user) => !away.includes(user));
    const sends: Promise<Message>[] = [];
    for (let i = 0; i < options.messages; i += 1) {
      const user = senders[i % senders.length] as User;
      sends.push(user.client.send({ to: user.partner }, `chaos ${i} from ${user.id}`));
    }
    const acked = await timer.time(`${sends.length} sends acked`, () => Promise.all(sends));
    // AND, still under the faults, senders edit and delete some of their messages and partners react
    const changes = await timer.time('edits, deletions and reactions acked', () =>
      changeMessages(users, acked),
    );
    // Sockets stop being cut once the run's requests are acked: every cut makes a reconnect, whose
    // connection and presence writes give delivery more to do, under the other faults, and more frames
    // to lose, so with every class on the pipeline never ran dry (seen on 7 December: a backlog of
    // about 1,100 records that held steady for minutes). The other faults stay on while delivery works
    // through its backlog, until every online user holds its messages on its socket or the pipeline has
    // nothing left to deliver (a frame lost with a socket never comes: "by sync" counts those).
    const injectedWhileSending =
      options.faults !== undefined && 'lose' in options.faults ? await getFaults(stack) : undefined;
    if (injectedWhileSending !== undefined) {
      const { lose: _, ...rest } = options.faults as Record<string, unknown>;
      await setFaults(
        stack,
        Object.keys(rest).length === 0 ? undefined : { faults: rest, seed: options.seed ?? 1 },
      );
    }
    await timer.time('delivered or pipeline idle', () => deliveredOrIdle(stack, senders, acked));
    const faultsInjected =
      options.faults === undefined ? undefined : addInjected(injectedWhileSending, await getFaults(stack));
    if (options.faults !== undefined) await setFaults(stack, undefined);
    // Whatever the stream still retries is delivered or given up before the queue is redriven: from
    // then on no entry can join the queue.
    await timer.time('pipeline idle without faults', () => pipelineIdle(stack.httpUrl));

    // and what exhausted its retries is redriven, the offline users come back, and everyone catches up
    const { queued, redriven } = await timer.time('redrive', () => options.redrive(stack));
    const expected = [...firsts, ...acked];
    await timer.time('catch-up', async () => {
      await Promise.all(away.map((user) => opened(user.client)));
      await Promise.all(users.map((user) => user.client.catchUp()));
      await settled(users, expected);
    });

    const violations: string[] = [];
    const { stored, reactionsAmiss } = await timer.time('table and clients checked', async () => {
      const stored = await checkTable(audit, expected, violations);
      checkClients(users, expected, violations);
      return { stored, reactionsAmiss: await checkShown(audit, users, acked, changes, violations) };
    });
    // THEN once every socket is gone, nothing of them is left in the table: a socket lost without
    // $disconnect is removed by the next delivery's 410, so every user gets one last message first.
    await timer.time('last messages, sockets closed, nothing left', async () => {
      await Promise.all(users.map((user) => user.client.send({ to: user.partner }, 'last one')));
      for (const user of users) user.client.close();
      await checkNothingLeft(audit, users, stack, violations);
    });

    const byRecipient = (message: Message) => users.find((u) => u.partner === message.senderId);
    let deliveredOnSocket = 0;
    let duplicatesSeen = 0;
    for (const message of expected) {
      const frames = byRecipient(message)?.onSocket.get(message.messageId) ?? 0;
      if (frames > 0) deliveredOnSocket += 1;
      duplicatesSeen += Math.max(0, frames - 1);
    }
    return {
      label: options.label,
      sent: expected.length,
      acked: expected.length,
      stored,
      deliveredOnSocket,
      recoveredBySync: expected.length - deliveredOnSocket,
      duplicatesSeen,
      changes: changes.acked,
      reactionsAmiss,
      queued,
      redriven,
      pushes: await pushCount(stack),
      reconnects,
      faultsInjected,
      violations,
      phases: timer.phases,
    };
  } finally {
    for (const user of users) user.client.close();
    audit.close();
    await stack.stop();
  }
}

function newUser(stack: LocalStackProcess, id: string, partner: string): User {
  const onSocket = new Map<string, number>();
  // The platform's WebSocket, watched: what came over the socket, before the SDK's de-duplication.
  const Watched = class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      this.addEventListener('message', ({ data }) => {
        if (typeof data !== 'string' || !data.includes('"type":"message"')) return;
        const frame = JSON.parse(data) as { type?: string; messageId?: string };
        if (frame.type === 'message' && frame.messageId !== undefined) {
          onSocket.set(frame.messageId, (onSocket.get(frame.messageId) ?? 0) + 1);
        }
      });
    }
  } satisfies WebSocketConstructor;
  const client = new ParleyClient({
    url: `${stack.url}/`,
    token: () => localToken(id),
    deviceId: `${id}-phone`,
    WebSocket: Watched,
    // Faults lose acks and sockets: notice quickly, so a run takes seconds rather than minutes.
    ackTimeoutMs: 3_000,
    requestTimeoutMs: 3_000,
    pingIntervalMs: 2_000,
    pongTimeoutMs: 3_000,
    backoff: { initialMs: 50, maxMs: 1_000, stableAfterMs: 5_000 },
  });
  const seen: Message[] = [];
  client.on('message', (message) => seen.push(message));
  return { id, partner, client, onSocket, seen };
}

function opened(client: ParleyClient): Promise<void> {
  return new Promise((resolve) => {
    const off = client.on('state', ({ state }) => {
      if (state !== 'open') return;
      off();
      resolve();
    });
    client.connect();
  });
}

/** What was changed, by message id, as both members' clients must end up showing it. */
interface Changes {
  readonly acked: number;
  readonly shown: Map<string, ShownMessage>;
}

/**
 * Every 10th message is edited by its sender, every 25th (from the 2nd) deleted, every 7th not deleted
 * gets a 👍 from its recipient (or its sender, when the recipient is offline), taken back again on every
 * 14th (see below). Each request is sent again until acknowledged, as an app would after a timeout or
 * `internal`.
 */
async function changeMessages(users: User[], acked: Message[]): Promise<Changes> {
  const online = (id: string) => users.find((u) => u.id === id && u.client.state === 'open');
  const byId = (id: string) => users.find((u) => u.id === id) as User;
  const shown = new Map<string, ShownMessage>();
  let count = 0;
  await Promise.all(
    acked.map(async (message, i) => {
      const sender = byId(message.senderId);
      const { conversationId, seq } = message;
      const state = { content: message.content, deleted: false, reactions: {} as Record<string, string[]> };
      if (i % 10 === 0) {
        state.content = `edited ${i}`;
        await untilAcked(() => sender.client.editMessage(conversationId, seq, state.content));
        count += 1;
      } else if (i % 25 === 1) {
        state.content = '';
        state.deleted = true;
        await untilAcked(() => sender.client.deleteMessage(conversationId, seq));
        count += 1;
      }
      if (i % 7 === 0 && !state.deleted) {
        const reactor = online(sender.partner) ?? sender;
        const tries = await untilAcked(() => reactor.client.react(conversationId, seq, '👍'));
        count += 1;
        // Only after an add acknowledged at the first try: a try that timed out may still be running
        // (its Lambda waits on throttled DynamoDB) and add the reaction after it was taken back. No
        // server can order two requests the client did not; an app sees the same.
        if (i % 14 === 0 && tries === 1) {
          await untilAcked(() => reactor.client.react(conversationId, seq, '👍', false));
          count += 1;
        } else {
          state.reactions = { '👍': [reactor.id] };
        }
      }
      shown.set(message.messageId, state);
    }),
  );
  return { acked: count, shown };
}

/** Sends the request again until it is acknowledged; answers how many tries it took. */
async function untilAcked(request: () => Promise<void>): Promise<number> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await request();
      return attempt;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 30 || code === 'bad_request' || code === 'forbidden' || code === 'not_found')
        throw error;
    }
  }
}

/**
 * Both members' clients show each changed message as the table holds it; the table holds each edit and
 * deletion as made. Answers how many messages' reactions differ from what the acknowledged requests say.
 */
async function checkShown(
  audit: TableAudit,
  users: User[],
  acked: Message[],
  changes: Changes,
  violations: string[],
): Promise<number> {
  let reactionsAmiss = 0;
  const conversations = new Set(acked.map((m) => m.conversationId));
  for (const conversationId of conversations) {
    const stored = await audit.messages(conversationId);
    const sender = users.find((u) =>
      acked.some((m) => m.conversationId === conversationId && m.senderId === u.id),
    );
    const members = users.filter((u) => u === sender || u.id === sender?.partner);
    for (const item of stored) {
      const meant = changes.shown.get(item.messageId);
      if (meant === undefined) continue;
      if (JSON.stringify(item.shown.reactions) !== JSON.stringify(meant.reactions)) reactionsAmiss += 1;
      if (item.shown.content !== meant.content || item.shown.deleted !== meant.deleted)
        violations.push(
          `${conversationId} seq ${item.seq}: the table holds ${JSON.stringify(item.shown)}, the changes made ${JSON.stringify(meant)}`,
        );
      for (const user of members) {
        const held = user.client.message(conversationId, item.seq);
        const view =
          held === undefined
            ? undefined
            : {
                content: held.deleted === true ? '' : held.content,
                deleted: held.deleted === true,
                reactions: Object.fromEntries(
                  Object.entries(held.reactions ?? {}).map(([emoji, ids]) => [emoji, [...ids].sort()]),
                ),
              };
        if (JSON.stringify(view) !== JSON.stringify(item.shown))
          violations.push(
            `${user.id} shows ${conversationId} seq ${item.seq} as ${JSON.stringify(view)}, the table holds ${JSON.stringify(item.shown)}`,
          );
      }
    }
  }
  return reactionsAmiss;
}

/** Until every online user has had each of its messages on its socket, or the stream pipeline is idle. */
async function deliveredOrIdle(stack: LocalStackProcess, online: User[], acked: Message[]): Promise<void> {
  const allOnSockets = () =>
    online.every((user) => acked.every((m) => m.senderId !== user.partner || user.onSocket.has(m.messageId)));
  const framesSeen = () => online.reduce((total, user) => total + user.onSocket.size, 0);
  // Bounded by progress, not by a clock: a pipeline working through a backlog under faults may take
  // minutes, but one that neither reads, delivers nor retries anything for a minute is stuck.
  let progress = '';
  let lastProgress = Date.now();
  let lastPrinted = Date.now();
  for (;;) {
    if (allOnSockets()) return;
    const status = (await (await fetch(`${stack.httpUrl}/_local/stream`)).json()) as PipelineStatus;
    if (status.idle) return;
    const now = `${framesSeen()} ${JSON.stringify(status.shards)}`;
    if (now !== progress) {
      progress = now;
      lastProgress = Date.now();
    }
    if (Date.now() - lastPrinted >= 30_000) {
      lastPrinted = Date.now();
      process.stdout.write(`[chaos] still delivering: ${describePipeline(status)}\n`);
    }
    if (Date.now() - lastProgress > SETTLE_LIMIT_MS) {
      throw new Error(
        `delivery made no progress for ${SETTLE_LIMIT_MS / 1000} s: ${describePipeline(status)}`,
      );
    }
  }
}

async function pushCount(stack: LocalStackProcess): Promise<number> {
  const pushes = await (await fetch(`${stack.httpUrl}/_local/pushes`)).json();
  return Array.isArray(pushes) ? pushes.length : 0;
}

async function setFaults(stack: LocalStackProcess, faults: unknown): Promise<void> {
  const response =
    faults === undefined
      ? await fetch(`${stack.httpUrl}/_local/faults`, { method: 'DELETE' })
      : await fetch(`${stack.httpUrl}/_local/faults`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(faults),
        });
  if (!response.ok) throw new Error(`/_local/faults answered ${response.status}: ${await response.text()}`);
}

/** The stack's fault counts of two plans in force one after the other, added up. */
function addInjected(first: unknown, second: unknown): unknown {
  const counts = (plan: unknown) =>
    (plan as { injected?: Record<string, number> } | undefined)?.injected ?? {};
  const injected: Record<string, number> = { ...counts(first) };
  for (const [name, n] of Object.entries(counts(second))) injected[name] = (injected[name] ?? 0) + n;
  return { ...(second as object), injected };
}

async function getFaults(stack: LocalStackProcess): Promise<unknown> {
  const response = await fetch(`${stack.httpUrl}/_local/faults`);
  return response.ok ? response.json() : undefined;
}

/** Waits until every recipient's client has seen every message meant for it (or the limit passes). */
async function settled(users: User[], expected: Message[]): Promise<void> {
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  const complete = () =>
    users.every((user) => {
      const ids = new Set(user.seen.map((m) => m.messageId));
      return expected.every((m) => m.senderId !== user.partner || ids.has(m.messageId));
    });
  while (!complete() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    if (Date.now() > deadline - SETTLE_LIMIT_MS / 2) await Promise.all(users.map((u) => u.client.catchUp()));
  }
}

async function checkTable(audit: TableAudit, expected: Message[], violations: string[]): Promise<number> {
  let stored = 0;
  const byConversation = new Map<string, Message[]>();
  for (const message of expected) {
    byConversation.set(message.conversationId, [
      ...(byConversation.get(message.conversationId) ?? []),
      message,
    ]);
  }
  for (const [conversationId, acked] of byConversation) {
    const items = await audit.messages(conversationId);
    stored += items.length;
    const seqs = items.map((item) => item.seq);
    if (seqs.some((seq, i) => seq !== i + 1)) violations.push(`${conversationId}: seqs not gapless from 1`);
    const perClientId = new Map<string, number>();
    for (const item of items) {
      const key = `${item.senderId}/${item.clientMessageId}`;
      perClientId.set(key, (perClientId.get(key) ?? 0) + 1);
    }
    for (const [key, count] of perClientId) if (count > 1) violations.push(`${key} stored ${count} times`);
    const ids = new Set(items.map((item) => item.messageId));
    for (const message of acked)
      if (!ids.has(message.messageId)) violations.push(`${message.messageId} acked, not stored`);
    if (items.length !== acked.length)
      violations.push(`${conversationId}: ${items.length} stored, ${acked.length} acked`);
  }
  return stored;
}

function checkClients(users: User[], expected: Message[], violations: string[]): void {
  for (const user of users) {
    const ids = user.seen.map((m) => m.messageId);
    if (new Set(ids).size !== ids.length) violations.push(`${user.id} was handed a message twice`);
    const meant = expected.filter((m) => m.senderId === user.partner);
    const held = new Set(ids);
    const missing = meant.filter((m) => !held.has(m.messageId));
    if (missing.length > 0) violations.push(`${user.id} never got ${missing.length} message(s)`);
    const seqs = user.seen.map((m) => m.seq);
    if (seqs.some((seq, i) => i > 0 && seq <= (seqs[i - 1] ?? 0)))
      violations.push(`${user.id} saw seqs out of order`);
  }
}

async function checkNothingLeft(
  audit: TableAudit,
  users: User[],
  stack: LocalStackProcess,
  violations: string[],
): Promise<void> {
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  let left = await audit.connectionItems();
  let present = await presenceLeft(audit, users);
  while ((left.length > 0 || present.length > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    left = await audit.connectionItems();
    present = await presenceLeft(audit, users);
  }
  if (left.length > 0) violations.push(`${left.length} connection item(s) outlived their sockets`);
  if (present.length > 0) violations.push(`presence still counts connections of ${present.join(', ')}`);
  // The last messages' deliveries (and the 410s of sockets lost without $disconnect) are over before
  // the queue is read: an entry they leave would otherwise be missed.
  await pipelineIdle(stack.httpUrl);
  const queued = await (await fetch(`${stack.httpUrl}/_local/delivery-failures`)).json();
  if (Array.isArray(queued) && queued.length > 0)
    violations.push(
      `${queued.length} entries left in the on-failure queue: ${queued.map((e) => JSON.stringify(e)).join('\n')}`,
    );
}

async function presenceLeft(audit: TableAudit, users: User[]): Promise<string[]> {
  const counts = await Promise.all(
    users.map(async (user) => ({ id: user.id, n: (await audit.presence(user.id)).length })),
  );
  return counts.filter((c) => c.n > 0).map((c) => c.id);
}

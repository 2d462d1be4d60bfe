/**
 * (1.2) What a reconnect costs a user in 1,000 direct conversations of which 5 changed while they were
 * away, catching up as the client SDK does (client/src/client.ts): pages of the conversation list (newest
 * change first) until one ends with an entry it holds unchanged, then `sync` by `afterVersion` of each
 * conversation whose `version` is beyond the one the client held. Measured twice: right after seeding,
 * when all 1,000 entries share the list's newest 10-minute bucket (the worst case: a page reads that
 * whole bucket to order it), and after the seeded history is spread over the past 1,000 minutes.
 * architecture.md budgets it at 60 RRU and 6 requests, list included (`reconnect1000Changed5`). Run by
 * bench/request-units.ts in its process, against its table.
 */
import type { PhaseCounter } from './operation-units.ts';
import type { OperationFigures } from './results.ts';

export const RECONNECT_PHASE = 'reconnect: 1,000 conversations, 5 changed';
export const RECONNECT_BURST_PHASE =
  'reconnect: 1,000 conversations all changed in the last 10 minutes, 5 again';
const CONVERSATIONS = 1000;
const CHANGED = 5;
/** Sends in flight at once while seeding (not counted). */
const SEED_PARALLELISM = 16;

type Frame = Record<string, unknown>;

export interface ReconnectBench {
  readonly counter: PhaseCounter;
  /** `sync` as the reconnecting user. */
  sync(frame: Frame): Promise<Frame | undefined>;
  /** A new direct message from `from` to the reconnecting user, delivered (the list shows what delivery recorded). */
  sendFrom(from: string, clientMessageId: string): Promise<void>;
  /**
   * Not counted: the user's entries as if conversation `i` of `ids` (newest first) had last changed `i`
   * minutes ago, the history a user in 1,000 conversations has; seeding writes them all within a minute.
   */
  spreadHistory(conversationIds: readonly string[]): Promise<void>;
}

export interface ReconnectFigures {
  /** The budget's case: 5 changed in a history of 1,000. */
  reconnect: OperationFigures & { listRequests: number; clientRequests: number };
  /** The worst case: all 1,000 changed within the list's last 10-minute bucket, 5 of them again. */
  burst: OperationFigures & { listRequests: number; clientRequests: number };
}

export async function measureReconnectUnits(bench: ReconnectBench): Promise<ReconnectFigures> {
  // Not counted: 1,000 people write to the user, whose client then holds every conversation.
  const friends = Array.from({ length: CONVERSATIONS }, (_, i) => `reconnect-friend-${i + 1}`);
  for (let start = 0; start < friends.length; start += SEED_PARALLELISM) {
    await Promise.all(
      friends.slice(start, start + SEED_PARALLELISM).map((friend) => bench.sendFrom(friend, `${friend}-1`)),
    );
  }
  const burst = await reconnectAfter(bench, RECONNECT_BURST_PHASE, friends.slice(0, CHANGED), 'burst');
  const listed = [...(await listEntries(bench, undefined)).entries.keys()];
  await bench.spreadHistory(listed);
  const reconnect = await reconnectAfter(
    bench,
    RECONNECT_PHASE,
    friends.slice(CHANGED, 2 * CHANGED),
    'again',
  );
  return { reconnect, burst };
}

/** The client holds the whole list; `writers` write while it is away; its catch-up is counted. */
async function reconnectAfter(
  bench: ReconnectBench,
  phase: string,
  writers: readonly string[],
  tag: string,
): Promise<ReconnectFigures['reconnect']> {
  const held = (await listEntries(bench, undefined)).entries;
  if (held.size !== CONVERSATIONS)
    throw new Error(`the list held ${held.size} conversations, not ${CONVERSATIONS}`);
  for (const friend of writers) await bench.sendFrom(friend, `${friend}-${tag}`);
  let synced = 0;
  let listRequests = 0;
  let syncRequests = 0;
  await bench.counter.count(phase, async () => {
    const now = await listEntries(bench, held);
    listRequests = now.pages;
    for (const [conversationId, entry] of now.entries) {
      const version = Number(entry.version);
      const from = Number(held.get(conversationId)?.version ?? 0);
      if (version <= from) continue;
      synced += 1;
      let afterVersion = from;
      for (;;) {
        syncRequests += 1;
        const page = await bench.sync({ action: 'sync', conversationId, afterVersion, limit: 100 });
        afterVersion = Number(page?.version);
        if (page?.hasMore !== true) break;
      }
    }
  });
  if (synced !== writers.length)
    throw new Error(`the catch-up synced ${synced} conversations, not ${writers.length}`);
  return { ...bench.counter.operation(phase), listRequests, clientRequests: listRequests + syncRequests };
}

/**
 * Pages of the list: every page when nothing is held, else until a page that ends with an entry held
 * unchanged (presence aside), as the SDK stops (client/src/client.ts).
 */
async function listEntries(
  bench: ReconnectBench,
  held: Map<string, Frame> | undefined,
): Promise<{ entries: Map<string, Frame>; pages: number }> {
  const entries = new Map<string, Frame>();
  let pages = 0;
  let cursor: string | undefined;
  do {
    const page = await bench.sync({ action: 'sync', limit: 50, ...(cursor !== undefined && { cursor }) });
    pages += 1;
    const read = (page?.conversations ?? []) as Frame[];
    for (const entry of read) entries.set(String(entry.conversationId), entry);
    const last = read.at(-1);
    if (
      held !== undefined &&
      last !== undefined &&
      sameBesidesPresence(last, held.get(String(last.conversationId)))
    ) {
      break;
    }
    cursor = typeof page?.nextCursor === 'string' ? page.nextCursor : undefined;
  } while (cursor !== undefined);
  return { entries, pages };
}

function sameBesidesPresence(entry: Frame, held: Frame | undefined): boolean {
  if (held === undefined) return false;
  const { presence: _a, ...a } = entry;
  const { presence: _b, ...b } = held;
  return JSON.stringify(a) === JSON.stringify(b);
}

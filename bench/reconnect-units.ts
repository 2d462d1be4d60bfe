/**
 * (1.2) What a reconnect costs a user in 1,000 direct conversations of which 5 changed while they were
 * away, catching up as the client SDK does (client/src/client.ts): every page of the conversation list,
 * then `sync` by `afterVersion` of each conversation whose `version` is beyond the one the client held.
 * architecture.md budgets it at 60 RRU and 6 requests, list included (`reconnect1000Changed5`). Run by
 * bench/request-units.ts in its process, against its table.
 */
import type { PhaseCounter } from './operation-units.ts';
import type { OperationFigures } from './results.ts';

export const RECONNECT_PHASE = 'reconnect: 1,000 conversations, 5 changed';
const CONVERSATIONS = 1000;
const CHANGED = 5;
/** Sends in flight at once while seeding (not counted). */
const SEED_PARALLELISM = 16;

type Frame = Record<string, unknown>;

export interface ReconnectBench {
  readonly counter: PhaseCounter;
  /** `sync` as the reconnecting user. */
  sync(frame: Frame): Promise<Frame | undefined>;
  /** A new direct message from `from` to the reconnecting user (not delivered: the list reads the table). */
  sendFrom(from: string, clientMessageId: string): Promise<void>;
}

export async function measureReconnectUnits(bench: ReconnectBench): Promise<OperationFigures> {
  // Not counted: 1,000 people write to the user, whose client then holds every conversation.
  const friends = Array.from({ length: CONVERSATIONS }, (_, i) => `reconnect-friend-${i + 1}`);
  for (let start = 0; start < friends.length; start += SEED_PARALLELISM) {
    await Promise.all(
      friends.slice(start, start + SEED_PARALLELISM).map((friend) => bench.sendFrom(friend, `${friend}-1`)),
    );
  }
  const held = await listVersions(bench);
  if (held.size !== CONVERSATIONS)
    throw new Error(`the list held ${held.size} conversations, not ${CONVERSATIONS}`);
  // While the user is away, 5 of them write again.
  for (const friend of friends.slice(0, CHANGED)) await bench.sendFrom(friend, `${friend}-2`);

  let synced = 0;
  await bench.counter.count(RECONNECT_PHASE, async () => {
    const now = await listVersions(bench);
    for (const [conversationId, version] of now) {
      const from = held.get(conversationId) ?? 0;
      if (version <= from) continue;
      synced += 1;
      let afterVersion = from;
      for (;;) {
        const page = await bench.sync({ action: 'sync', conversationId, afterVersion, limit: 100 });
        afterVersion = Number(page?.version);
        if (page?.hasMore !== true) break;
      }
    }
  });
  if (synced !== CHANGED) throw new Error(`the catch-up synced ${synced} conversations, not ${CHANGED}`);
  return bench.counter.operation(RECONNECT_PHASE);
}

/** Every page of the list: each conversation's `version`. */
async function listVersions(bench: ReconnectBench): Promise<Map<string, number>> {
  const versions = new Map<string, number>();
  let cursor: string | undefined;
  do {
    const page = await bench.sync({ action: 'sync', limit: 50, ...(cursor !== undefined && { cursor }) });
    for (const entry of (page?.conversations ?? []) as { conversationId: string; version: number }[]) {
      versions.set(entry.conversationId, entry.version);
    }
    cursor = typeof page?.nextCursor === 'string' ? page.nextCursor : undefined;
  } while (cursor !== undefined);
  return versions;
}

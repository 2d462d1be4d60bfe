/**
 * A direct conversation's item never changes once written: its two members are fixed, it has no title,
 * and it is never deleted (leaving or hiding one is done on member items). So a container reads each
 * one once, and every later message of the pair that the same warm container sends or delivers reads
 * nothing for it (conversation-store.ts). Groups change (members join and leave), so they are always read.
 * 10,000 entries of about 300 bytes: a few MB at most. Its own module, free of AWS clients, so the
 * unit tests can start every case with a cold container.
 */
import type { Conversation } from '../domain/model.ts';
import { BoundedCache } from '../shared/bounded-cache.ts';

export const knownDirectConversations = new BoundedCache<string, Conversation>(10_000);

/**
 * `sync` with `afterVersion` (protocol.md 1.2): every message added or changed after that version, in
 * its whole current state (tombstones included), ascending by version, at most `limit`, under 128 KiB.
 *
 * Two strongly consistent reads, merged (versions.ts says why they suffice): the messages after the
 * version's seq slot, in the table by `seq` (one that never changed has its seq's version), and the
 * messages that changed, in the sparse `changes` index by stored version. The table is read first: a
 * message that changes between the two reads is then found by the second with its new version. A
 * message committed between the two reads is not in the first, so the page stops short of its version
 * (and of every change after it); it also stops where either read stopped. So the page's `version`
 * covers everything committed up to it; a message changed again later appears again with its newer
 * version.
 */
import { readChangedAfter, readMessagesFrom } from '../adapters/message-history.ts';
import { messageViewOf } from './attachments.ts';
import { byteLength, MAX_FRAME_BYTES } from './frame-size.ts';
import { type MessagesFrame, versionOf } from './frames.ts';
import { type MessageReader, viewFor } from './message-readers.ts';
import type { StoredMessage } from './model.ts';
import { messageVersion, seqOfVersion } from './versions.ts';

export interface SyncChangesInput {
  /** A member (their blocks hide messages), or the app's backend. */
  caller: MessageReader;
  conversationId: string;
  afterVersion: number;
  limit: number;
}

export async function syncChanges(input: SyncChangesInput): Promise<MessagesFrame> {
  const { conversationId, afterVersion, limit } = input;
  // Members only, with the same answer for someone else's conversation and one that does not exist.
  const seen = await viewFor(conversationId, input.caller);
  const added = await readMessagesFrom(conversationId, seqOfVersion(afterVersion), limit + 1);
  const changed = await readChangedAfter(conversationId, afterVersion, limit + 1);

  // The page ends where what is known ends. Past the newest message the first read saw, a message may
  // have been committed after that read (and changed since: the second read would show only the
  // change), so versions from that message's on wait for the next request. Past a read that stopped
  // early, likewise.
  let bound = messageVersion(added.lastReadSeq + 1) - 1;
  if (added.more) bound = Math.min(bound, messageVersion(added.lastReadSeq));
  const lastChanged = changed.messages.at(-1);
  if (changed.more && lastChanged !== undefined) bound = Math.min(bound, versionOf(lastChanged));

  // A message changed between the two reads is in both: only its newer state is kept.
  const newest = new Map<number, StoredMessage>();
  for (const message of [...added.messages, ...changed.messages]) {
    const held = newest.get(message.seq);
    if (versionOf(message) > afterVersion && (held === undefined || versionOf(message) > versionOf(held))) {
      newest.set(message.seq, message);
    }
  }
  const candidates = [...newest.values()]
    .filter((message) => versionOf(message) <= bound)
    .sort((a, b) => versionOf(a) - versionOf(b));
  const beyond = candidates.length < newest.size || added.more || changed.more;

  const frame: MessagesFrame = { type: 'messages', conversationId, messages: [], hasMore: false, version: 0 };
  let bytes = byteLength({ ...frame, hasMore: true, version: Number.MAX_SAFE_INTEGER });
  let version = afterVersion;
  for (const message of candidates) {
    const view = await messageViewOf(seen(message));
    // +1 for the comma between array elements.
    const size = byteLength(view) + 1;
    if (frame.messages.length === limit || bytes + size > MAX_FRAME_BYTES) {
      return { ...frame, hasMore: true, version };
    }
    frame.messages.push(view);
    bytes += size;
    version = view.version;
  }
  return { ...frame, hasMore: beyond, version };
}

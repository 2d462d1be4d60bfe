import { readBlockers, readBlocks } from '../adapters/block-store.ts';
import { hasConsent } from '../adapters/list-entries.ts';
import { listMemberCursors } from '../adapters/member-store.ts';
import { loadUsers } from '../adapters/user-directory.ts';
import { hiddenAt, isReachable } from '../delivery/audience.ts';
import { sendToConnections } from '../delivery/fanout.ts';
import { capUser } from '../delivery/per-user-caps.ts';
import type { TypingFrame } from './frames.ts';
import { type ConversationTarget, refuseSelfAddress, resolveExisting } from './membership.ts';
import type { Caller } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

/** A `start` lapses by itself after this long unless repeated (protocol.md). */
const TYPING_LAPSE_MS = 5_000;

export interface TypingInput extends ConversationTarget {
  caller: Caller;
  state: 'start' | 'stop';
  now: Date;
}

/**
 * Typing is ephemeral, so it is never stored: the handler posts it itself to every connection of the
 * other members (not the typer's own devices) who are reachable, like messages and reads (a
 * deactivated member receives nothing new). A lost indicator is harmless, so post failures are logged
 * and dropped rather than retried.
 */
export async function sendTyping(input: TypingInput): Promise<void> {
  // A flood is refused before it reads or posts anything: it costs the typer one write, others nothing.
  refuseSelfAddress(input, input.caller.userId);
  await requireWithinRate(input.caller.userId, 'typing', input.now);
  const conversation = await resolveExisting(input, input.caller.userId);
  // A group's members come from resolveExisting's strongly consistent read (membership.ts): a member
  // who left is neither allowed to type nor typed to. A direct conversation that either user hid
  // (leaveConversation, until its next message) carries no typing, read strongly consistently.
  // (1.2) Nor does it pass between users where one blocks the other, in a direct conversation (its
  // member items say so) or a group (the typer's blocks, and who blocks them: strongly consistent).
  const typerId = input.caller.userId;
  let cutOff: ReadonlySet<string> = new Set();
  if (conversation.kind === 'direct') {
    const cursors = await listMemberCursors(conversation.conversationId);
    if (hiddenAt(cursors).size > 0 || cursors.some((cursor) => cursor.blocking === true)) return;
    // (1.2) And only once both have written in it (consent): the typer's item holds both facts.
    const own = cursors.find((cursor) => cursor.userId === typerId);
    if (own === undefined || !hasConsent(own)) return;
  } else {
    const [blockers, blocks] = await Promise.all([readBlockers(typerId), readBlocks(typerId)]);
    cutOff = new Set([...blockers, ...blocks]);
  }
  const others = conversation.members.filter((member) => member !== typerId && !cutOff.has(member));
  const frame: TypingFrame = {
    type: 'typing',
    conversationId: conversation.conversationId,
    userId: input.caller.userId,
    state: input.state,
    expiresAt: new Date(input.now.getTime() + TYPING_LAPSE_MS).toISOString(),
  };
  const recipients = (await loadUsers(others)).filter(isReachable);
  // Ephemeral: a connection still inside `$connect` is not waited for, and its item is kept.
  await sendToConnections(
    recipients.flatMap((recipient) => capUser(recipient).entry.connections),
    frame,
    { waitForConnecting: false },
  );
}

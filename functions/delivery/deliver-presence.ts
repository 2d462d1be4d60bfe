/**
 * Presence: when a user's first connection opens, `online`; when the last one closes (whatever closed
 * it: `$disconnect`, a 410 clean-up, the per-user cap, TTL), `offline` with `lastSeen`. Sent to the
 * connections of the users who share a direct conversation with them, and no one else.
 *
 * The transition is decided by the atomic set of presence-store.ts, exactly once per transition even
 * when the stream redelivers. The frame itself is ephemeral like typing: posted once, a failed post is
 * logged and dropped, a gone connection deleted (which is in turn its user's presence record).
 */
import { listDirectContacts } from '../adapters/conversation-list-store.ts';
import { type ConnectionChange, recordClosed, recordOpened } from '../adapters/presence-store.ts';
import { loadUsers } from '../adapters/user-directory.ts';
import type { PresenceFrame } from '../domain/frames.ts';
import { deliverToMembers } from './deliver-to-members.ts';
import type { PresenceReport } from './delivery-report.ts';
import { recordPresence } from './list-entry-updates.ts';

/**
 * Contacts told of one transition (their list entries and their connections): a user with thousands of
 * direct conversations would otherwise cost writes, a `Query` and posts per contact on every connect and
 * disconnect. The first ones by conversation id: the `contacts` index holds nothing that changes, so
 * that it costs a write only when a conversation is created, and therefore has no order by activity.
 */
export const PRESENCE_CONTACT_CAP = 500;

export async function deliverPresence(
  change: ConnectionChange & { kind: 'opened' | 'closed' },
): Promise<PresenceReport> {
  const transition = change.kind === 'opened' ? await recordOpened(change) : await recordClosed(change);
  if (transition === 'none') return { change: 'none', contacts: 0, posted: 0 };
  const frame: PresenceFrame = {
    type: 'presence',
    userId: change.userId,
    status: transition,
    ...(transition === 'offline' && { lastSeen: change.at }),
  };
  const contacts = await listDirectContacts(change.userId, PRESENCE_CONTACT_CAP);
  // Their list entries first: a contact's device that connects meanwhile reads it from its list.
  const told = await recordPresence(contacts, transition, change.at);
  const { report } = await deliverToMembers({
    audience: await loadUsers(told.map((contact) => contact.userId)),
    frame,
    waitForConnecting: false,
  });
  return { change: transition, contacts: contacts.length, posted: report.sent };
}

/**
 * Consent was just given in a direct conversation (protocol.md 1.2: presence flows once both users have
 * written in it, or one accepted the other's request): the second user's first message, or the accept.
 * From then on presence transitions reach each of them
 * (deliver-presence.ts); until the next one, each entry shows the other's presence as it stands and each
 * user's connections are told it, so neither waits for the other to reconnect to see them online.
 */
import { DELIVERY_BY } from '../adapters/changed-by.ts';
import { peerPresencePart, updateEntry } from '../adapters/list-entries.ts';
import { readPresence } from '../adapters/presence-store.ts';
import type { UserDirectoryEntry } from '../adapters/user-directory.ts';
import type { PresenceFrame } from '../domain/frames.ts';
import type { Conversation } from '../domain/model.ts';
import { deliverToMembers } from './deliver-to-members.ts';
import { type DeliveryReport, reportOf } from './delivery-report.ts';

/** What the posts achieved, for both users together: a retried record introduces them again, harmlessly. */
export async function introducePresence(
  conversation: Conversation,
  members: readonly UserDirectoryEntry[],
): Promise<DeliveryReport> {
  const presence = await readPresence(conversation.members);
  const reports = await Promise.all(
    conversation.members.map(async (userId) => {
      const peer = conversation.members.find((member) => member !== userId);
      const view = peer === undefined ? undefined : presence.get(peer);
      if (peer === undefined || view === undefined) return undefined;
      // Dated by the presence set's own last change, like a transition: any later transition, recorded
      // before or after this, stands.
      const entry = await updateEntry({
        conversationId: conversation.conversationId,
        userId,
        parts: [peerPresencePart(view.status, view.since, view.lastSeen)],
        movedAt: undefined,
        changedBy: DELIVERY_BY,
      });
      if (entry === undefined || entry.peerStatus !== view.status) return undefined;
      const frame: PresenceFrame = {
        type: 'presence',
        userId: peer,
        status: view.status,
        ...(view.status === 'offline' && view.lastSeen !== null && { lastSeen: view.lastSeen }),
      };
      const audience = members.filter((member) => member.userId === userId);
      return (await deliverToMembers({ audience, frame, waitForConnecting: false })).report;
    }),
  );
  const posted = reports.filter((report) => report !== undefined);
  return reportOf({
    sent: posted.reduce((sum, report) => sum + report.sent, 0),
    gone: posted.reduce((sum, report) => sum + report.gone, 0),
    connecting: posted.flatMap((report) => report.connecting),
    failures: posted.flatMap((report) => report.failures),
  });
}

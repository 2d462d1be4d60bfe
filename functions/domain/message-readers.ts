/**
 * Who reads a conversation's messages (`sync`, and the server API's history), and how they see them: a
 * member, after the membership check every conversation action makes, with the messages of users they
 * block hidden (hidden-messages.ts); or the app's backend (integration.md), which sees every message as
 * stored, in any conversation that exists.
 */
import { getConversation } from '../adapters/conversation-store.ts';
import { NotFoundError } from './errors.ts';
import { viewerOf } from './hidden-messages.ts';
import { requireMemberCursor } from './membership.ts';
import type { Caller, StoredMessage } from './model.ts';

export const BACKEND_READER = 'backend';
export type MessageReader = Caller | typeof BACKEND_READER;

/** How `reader` sees each message of the conversation; refused (nothing read beyond) otherwise. */
export async function viewFor(
  conversationId: string,
  reader: MessageReader,
): Promise<(message: StoredMessage) => StoredMessage> {
  if (reader !== BACKEND_READER) return viewerOf(await requireMemberCursor(conversationId, reader.userId));
  const conversation = await getConversation(conversationId, { consistent: true });
  if (conversation === undefined) throw new NotFoundError('no such conversation');
  return (message) => message;
}

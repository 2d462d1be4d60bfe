/** How the demo names conversations and people; DOM-free so the browser test's expectations stay simple. */
import type { Conversation } from '../../client/src/index.ts';

type Named = Pick<Conversation, 'kind' | 'members' | 'title'>;

/** The other member of a direct conversation. */
export function peerOf(conversation: Named, me: string): string | undefined {
  return conversation.kind === 'direct' ? conversation.members.find((member) => member !== me) : undefined;
}

/** The group's title, or the other members' ids. */
export function conversationName(conversation: Named, me: string): string {
  if (conversation.title) return conversation.title;
  const others = conversation.members.filter((member) => member !== me);
  return others.length === 0 ? me : others.join(', ');
}

/** "bob is typing…", "bob and carol are typing…", "3 people are typing…", or "". */
export function typingLine(userIds: readonly string[]): string {
  if (userIds.length === 0) return '';
  if (userIds.length === 1) return `${userIds[0]} is typing…`;
  if (userIds.length === 2) return `${userIds[0]} and ${userIds[1]} are typing…`;
  return `${userIds.length} people are typing…`;
}

/** The ids of the "new conversation" form: comma-separated, trimmed, without the user and repeats. */
export function parseMembers(text: string, me: string): string[] {
  const ids = text
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '' && id !== me);
  return [...new Set(ids)];
}

/**
 * The lifecycle fields of a message item (edits, deletion, reactions), read the same way by `sync`,
 * the conversation list and the stream. Reactions are top-level attributes, one string set of user ids
 * per emoji (`R#{emoji}`), beside one set of emoji per reacting user (`U#{userId}`): each `react` is one
 * `ADD`/`DELETE` on two sets, so members reacting at once never read-modify-write a shared map, and
 * the limits (50 emoji per message, MAX_REACTIONS_PER_USER per user) are conditions on set sizes.
 */
import type { StoredMessage } from '../domain/model.ts';

type Item = Record<string, unknown>;

/** Attribute of the users who reacted with one emoji. */
export const REACTION_PREFIX = 'R#';
/** Attribute of the emoji one user reacted with. */
export const REACTOR_PREFIX = 'U#';
/** Every emoji of the message that has at least one reaction, for the 50-emoji limit. */
export const EMOJI_SET = 'reactionEmoji';

export const reactionAttribute = (emoji: string): string => `${REACTION_PREFIX}${emoji}`;
export const reactorAttribute = (userId: string): string => `${REACTOR_PREFIX}${userId}`;

/** Document clients hand string sets over as `Set`s; a rebuilt or hand-written image may carry arrays. */
function strings(value: unknown): string[] | undefined {
  const list = value instanceof Set ? [...value] : Array.isArray(value) ? value : undefined;
  return list?.every((entry) => typeof entry === 'string') ? (list as string[]).sort() : undefined;
}

/** Emoji → user ids (sorted), in a stable order of emoji; empty without reactions. */
export function reactionsOf(item: Item): Record<string, string[]> {
  const reactions: Record<string, string[]> = {};
  for (const name of Object.keys(item).sort()) {
    if (!name.startsWith(REACTION_PREFIX)) continue;
    const users = strings(item[name]);
    if (users !== undefined && users.length > 0) reactions[name.slice(REACTION_PREFIX.length)] = users;
  }
  return reactions;
}

/** The attributes a tombstone must lose: every reaction and reactor set. */
export const reactionAttributesOf = (item: Item): string[] =>
  Object.keys(item).filter(
    (name) => name.startsWith(REACTION_PREFIX) || name.startsWith(REACTOR_PREFIX) || name === EMOJI_SET,
  );

/** `version`, `editedAt`, `deleted` and `reactions` when the item has them (a plain message has none). */
export function lifecycleOf(
  item: Item,
): Pick<StoredMessage, 'editedAt' | 'deleted' | 'reactions' | 'version'> {
  const reactions = reactionsOf(item);
  return {
    ...(typeof item.version === 'number' && { version: item.version }),
    ...(typeof item.editedAt === 'string' && { editedAt: item.editedAt }),
    ...(item.deleted === true && { deleted: true }),
    ...(Object.keys(reactions).length > 0 && { reactions }),
  };
}

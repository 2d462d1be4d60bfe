/**
 * Edits, deletions and reactions: each one conditional update of the message item (`CONV#{id}` /
 * `MSG#{seq}`), never a read-modify-write, so concurrent changes serialise in DynamoDB and a deleted
 * message can never come back. `seq` is part of the key and never changes; a deletion leaves a
 * tombstone (content, reactions and attachments removed from the item) so that `sync` stays gapless.
 * Every visible change stores the conversation's next `version` on the item, in one transaction with
 * the version's claim (versioned-change.ts), so `sync` by `afterVersion` finds it in the `changes`
 * index. Every change is a MODIFY on the stream, which delivery turns into `messageUpdated`.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StoredAttachment } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';
import { EMOJI_SET, reactionAttribute, reactionAttributesOf, reactorAttribute } from './message-item.ts';
import { type ItemUpdate, readItem, versionedChange } from './versioned-change.ts';

type Item = Record<string, unknown>;

/** Why a change was refused, from the item as it stood (ReturnValuesOnConditionCheckFailure). */
export type Refusal = 'missing' | 'not-sender' | 'deleted' | 'too-many-emoji' | 'too-many-reactions';

export type ChangeResult = { done: true } | { done: false; refusal: Refusal };

const EXISTS = 'attribute_exists(PK)';
const NOT_DELETED = 'attribute_not_exists(deleted)';
const BY_SENDER = 'senderId = :sender';

/** The item that refused a condition: the reason is read from it, not guessed. */
function refusalOf(old: Item | undefined, senderId: string | undefined): Refusal {
  if (old === undefined) return 'missing';
  if (senderId !== undefined && old.senderId !== senderId) return 'not-sender';
  if (old.deleted === true) return 'deleted';
  return 'missing';
}

/** One versioned update of a message item: `SET version` joins the update's own expression. */
function messageUpdate(
  conversationId: string,
  seq: number,
  update: {
    set?: string;
    rest?: string;
    condition: string;
    names?: Record<string, string>;
    values: Record<string, unknown>;
  },
): (version: number) => ItemUpdate {
  return (version) => ({
    TableName: TABLE_NAME,
    Key: keys.message(conversationId, seq),
    UpdateExpression: `SET #version = :version${update.set ? `, ${update.set}` : ''}${update.rest ? ` ${update.rest}` : ''}`,
    ConditionExpression: update.condition,
    ExpressionAttributeNames: { '#version': 'version', ...update.names },
    ExpressionAttributeValues: { ':version': version, ...update.values },
  });
}

/** What an edit of the sender's own message is asked about before it is made (the send hook). */
export interface EditableMessage {
  clientMessageId: string;
  attachments: StoredAttachment[];
}

/**
 * The sender's own message as it stands (strongly consistent), or the refusal the edit's update would
 * give: read only for the send hook, which must not be asked about a message the edit cannot change.
 * The update stays conditional: this read decides nothing the update does not check again.
 */
export async function readEditable(
  conversationId: string,
  seq: number,
  senderId: string,
): Promise<{ done: true; message: EditableMessage } | { done: false; refusal: Refusal }> {
  const item = await readItem(keys.message(conversationId, seq));
  if (item === undefined || item.senderId !== senderId || item.deleted === true) {
    return { done: false, refusal: refusalOf(item, senderId) };
  }
  return {
    done: true,
    message: {
      clientMessageId: String(item.clientMessageId),
      attachments: Array.isArray(item.attachments) ? (item.attachments as StoredAttachment[]) : [],
    },
  };
}

/** New content and `editedAt`, by the sender only, never on a tombstone. */
export async function editContent(
  conversationId: string,
  seq: number,
  senderId: string,
  content: string,
  editedAt: string,
): Promise<ChangeResult> {
  const outcome = await versionedChange(
    conversationId,
    messageUpdate(conversationId, seq, {
      set: 'content = :content, editedAt = :editedAt',
      condition: `${EXISTS} AND ${BY_SENDER} AND ${NOT_DELETED}`,
      values: { ':content': content, ':editedAt': editedAt, ':sender': senderId },
    }),
  );
  if (outcome.committed) return { done: true };
  return { done: false, refusal: refusalOf(outcome.old, senderId) };
}

/** What a tombstone still holds until clearTombstone: attachments in storage, reaction attributes. */
export interface Leftovers {
  attachments: StoredAttachment[];
  attributes: string[];
}

/**
 * Marks the sender's message deleted with empty content. What else it held goes in a second step
 * (clearTombstone), once its attachments are out of storage: reactions are attributes named by emoji,
 * which an update must name, and `react` is refused once `deleted` is set, so the tombstone read back
 * after the mark shows every one there will ever be. A retried delete gets what the first one left, so
 * it can finish.
 */
export async function markDeleted(
  conversationId: string,
  seq: number,
  senderId: string,
  deletedAt: string,
): Promise<{ done: true; leftovers: Leftovers; changed: boolean } | { done: false; refusal: Refusal }> {
  const outcome = await versionedChange(
    conversationId,
    messageUpdate(conversationId, seq, {
      set: 'deleted = :true, deletedAt = :deletedAt, content = :empty',
      condition: `${EXISTS} AND ${BY_SENDER} AND ${NOT_DELETED}`,
      values: { ':true': true, ':deletedAt': deletedAt, ':empty': '', ':sender': senderId },
    }),
  );
  if (outcome.committed) {
    const tombstone = await readItem(keys.message(conversationId, seq));
    return { done: true, leftovers: leftoversOf(tombstone ?? {}), changed: true };
  }
  const refusal = refusalOf(outcome.old, senderId);
  // Deleting twice is a retry, not an error: the message is gone either way.
  if (refusal === 'deleted' && outcome.old !== undefined) {
    return { done: true, leftovers: leftoversOf(outcome.old), changed: false };
  }
  return { done: false, refusal };
}

const leftoversOf = (item: Item): Leftovers => ({
  attachments: Array.isArray(item.attachments) ? (item.attachments as StoredAttachment[]) : [],
  attributes: reactionAttributesOf(item),
});

/** Removes a tombstone's attachments list and reaction attributes; only ever on a tombstone. */
export async function clearTombstone(
  conversationId: string,
  seq: number,
  leftovers: Leftovers,
): Promise<void> {
  const attributes = [...(leftovers.attachments.length > 0 ? ['attachments'] : []), ...leftovers.attributes];
  if (attributes.length === 0) return;
  const names = Object.fromEntries(attributes.map((name, index) => [`#a${index}`, name]));
  await dynamo.send(
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.message(conversationId, seq),
      UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
      ConditionExpression: 'deleted = :true',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ':true': true },
    }),
  );
}

export interface ReactionLimits {
  emojiPerMessage: number;
  reactionsPerUser: number;
}

/**
 * Adds or removes one (user, emoji) reaction: `ADD`/`DELETE` of the user in that emoji's set and of
 * the emoji in the user's set. A repeat is refused by its condition and changes nothing (no version,
 * no stream record). Adding is refused on a tombstone and past the limits, checked on the sets' sizes
 * in the same condition.
 */
export async function setReaction(
  conversationId: string,
  seq: number,
  userId: string,
  emoji: string,
  on: boolean,
  limits: ReactionLimits,
): Promise<ChangeResult> {
  const names = { '#users': reactionAttribute(emoji), '#mine': reactorAttribute(userId), '#all': EMOJI_SET };
  const values = { ':user': new Set([userId]), ':emoji': new Set([emoji]), ':userText': userId };
  if (!on) {
    const outcome = await versionedChange(
      conversationId,
      messageUpdate(conversationId, seq, {
        rest: 'DELETE #users :user, #mine :emoji',
        condition: `${EXISTS} AND contains(#users, :userText)`,
        // Every name given must be used: DynamoDB refuses the request otherwise.
        names: { '#users': names['#users'], '#mine': names['#mine'] },
        values,
      }),
    );
    if (!outcome.committed)
      return outcome.old === undefined ? { done: false, refusal: 'missing' } : { done: true };
    // When that was the last reaction with this emoji, it no longer counts against the 50. Only while
    // the set is still empty, so a reaction added in between keeps its emoji counted.
    try {
      await dynamo.send(
        new UpdateCommand({
          TableName: TABLE_NAME,
          Key: keys.message(conversationId, seq),
          UpdateExpression: 'DELETE #all :emoji',
          ConditionExpression: `${EXISTS} AND attribute_not_exists(#users) AND contains(#all, :emojiText)`,
          ExpressionAttributeNames: { '#all': EMOJI_SET, '#users': names['#users'] },
          ExpressionAttributeValues: { ':emoji': values[':emoji'], ':emojiText': emoji },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    return { done: true };
  }
  const outcome = await versionedChange(
    conversationId,
    messageUpdate(conversationId, seq, {
      rest: 'ADD #users :user, #mine :emoji, #all :emoji',
      condition:
        `${EXISTS} AND ${NOT_DELETED}` +
        ' AND (attribute_not_exists(#users) OR NOT contains(#users, :userText))' +
        ' AND (attribute_not_exists(#all) OR contains(#all, :emojiText) OR size(#all) < :maxEmoji)' +
        ' AND (attribute_not_exists(#mine) OR contains(#mine, :emojiText) OR size(#mine) < :maxMine)',
      names,
      values: {
        ...values,
        ':emojiText': emoji,
        ':maxEmoji': limits.emojiPerMessage,
        ':maxMine': limits.reactionsPerUser,
      },
    }),
  );
  if (outcome.committed) return { done: true };
  const old = outcome.old;
  if (old === undefined) return { done: false, refusal: 'missing' };
  if (old.deleted === true) return { done: false, refusal: 'deleted' };
  const users = old[names['#users']];
  if (users instanceof Set && users.has(userId)) return { done: true };
  const mine = old[names['#mine']];
  if (mine instanceof Set && mine.size >= limits.reactionsPerUser) {
    return { done: false, refusal: 'too-many-reactions' };
  }
  return { done: false, refusal: 'too-many-emoji' };
}

/**
 * Edits, deletions and reactions: each one conditional update of the message item (`CONV#{id}` /
 * `MSG#{seq}`), never a read-modify-write, so concurrent changes serialise in DynamoDB and a deleted
 * message can never come back. `seq` is part of the key and never changes; a deletion leaves a
 * tombstone (content, reactions and attachments removed from the item) so that `sync` stays gapless.
 * Every change is a MODIFY on the stream, which delivery turns into `messageUpdated`.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { StoredAttachment } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';
import { EMOJI_SET, reactionAttribute, reactionAttributesOf, reactorAttribute } from './message-item.ts';

type Item = Record<string, unknown>;

/** Why a change was refused, from the item as it stood (ReturnValuesOnConditionCheckFailure). */
export type Refusal = 'missing' | 'not-sender' | 'deleted' | 'too-many-emoji' | 'too-many-reactions';

export type ChangeResult = { done: true; item: Item } | { done: false; refusal: Refusal };

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

async function update(
  input: Omit<
    ConstructorParameters<typeof UpdateCommand>[0],
    'TableName' | 'ReturnValuesOnConditionCheckFailure'
  >,
): Promise<{ item: Item } | { old: Item | undefined }> {
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({ ...input, TableName: TABLE_NAME, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }),
    );
    return { item: Attributes ?? {} };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return { old: error.Item === undefined ? undefined : unmarshall(error.Item) };
  }
}

/** New content and `editedAt`, by the sender only, never on a tombstone. */
export async function editContent(
  conversationId: string,
  seq: number,
  senderId: string,
  content: string,
  editedAt: string,
): Promise<ChangeResult> {
  const outcome = await update({
    Key: keys.message(conversationId, seq),
    UpdateExpression: 'SET content = :content, editedAt = :editedAt',
    ConditionExpression: `${EXISTS} AND ${BY_SENDER} AND ${NOT_DELETED}`,
    ExpressionAttributeValues: { ':content': content, ':editedAt': editedAt, ':sender': senderId },
    ReturnValues: 'ALL_NEW',
  });
  if ('item' in outcome) return { done: true, item: outcome.item };
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
 * which an update must name, and `react` is refused once `deleted` is set, so the old image shows
 * every one there will ever be. A retried delete gets what the first one left, so it can finish.
 */
export async function markDeleted(
  conversationId: string,
  seq: number,
  senderId: string,
  deletedAt: string,
): Promise<{ done: true; leftovers: Leftovers; changed: boolean } | { done: false; refusal: Refusal }> {
  const outcome = await update({
    Key: keys.message(conversationId, seq),
    UpdateExpression: 'SET deleted = :true, deletedAt = :deletedAt, content = :empty',
    ConditionExpression: `${EXISTS} AND ${BY_SENDER} AND ${NOT_DELETED}`,
    ExpressionAttributeValues: { ':true': true, ':deletedAt': deletedAt, ':empty': '', ':sender': senderId },
    ReturnValues: 'ALL_OLD',
  });
  if ('item' in outcome) return { done: true, leftovers: leftoversOf(outcome.item), changed: true };
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
 * the emoji in the user's set, so a repeat changes nothing (and writes no stream record). Adding is
 * refused on a tombstone and past the limits, checked on the sets' sizes in the same condition.
 */
export async function setReaction(
  conversationId: string,
  seq: number,
  userId: string,
  emoji: string,
  on: boolean,
  limits: ReactionLimits,
): Promise<ChangeResult> {
  const key = keys.message(conversationId, seq);
  const names = { '#users': reactionAttribute(emoji), '#mine': reactorAttribute(userId), '#all': EMOJI_SET };
  const values = { ':user': new Set([userId]), ':emoji': new Set([emoji]) };
  if (!on) {
    const outcome = await update({
      Key: key,
      UpdateExpression: 'DELETE #users :user, #mine :emoji',
      ConditionExpression: EXISTS,
      // Every name given must be used: DynamoDB refuses the request otherwise.
      ExpressionAttributeNames: { '#users': names['#users'], '#mine': names['#mine'] },
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    });
    if ('old' in outcome) return { done: false, refusal: 'missing' };
    // The last reaction with this emoji is gone: it no longer counts against the 50. Only while the
    // set is still empty, so a reaction added in between keeps its emoji counted.
    if (outcome.item[names['#users']] === undefined && hasEmoji(outcome.item, emoji)) {
      await update({
        Key: key,
        UpdateExpression: 'DELETE #all :emoji',
        ConditionExpression: `${EXISTS} AND attribute_not_exists(#users)`,
        ExpressionAttributeNames: { '#all': EMOJI_SET, '#users': names['#users'] },
        ExpressionAttributeValues: { ':emoji': values[':emoji'] },
      });
    }
    return { done: true, item: outcome.item };
  }
  const outcome = await update({
    Key: key,
    UpdateExpression: 'ADD #users :user, #mine :emoji, #all :emoji',
    ConditionExpression:
      `${EXISTS} AND ${NOT_DELETED}` +
      ' AND (attribute_not_exists(#all) OR contains(#all, :emojiText) OR size(#all) < :maxEmoji)' +
      ' AND (attribute_not_exists(#mine) OR contains(#mine, :emojiText) OR size(#mine) < :maxMine)',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: {
      ...values,
      ':emojiText': emoji,
      ':maxEmoji': limits.emojiPerMessage,
      ':maxMine': limits.reactionsPerUser,
    },
    ReturnValues: 'ALL_NEW',
  });
  if ('item' in outcome) return { done: true, item: outcome.item };
  const old = outcome.old;
  if (old === undefined) return { done: false, refusal: 'missing' };
  if (old.deleted === true) return { done: false, refusal: 'deleted' };
  const mine = old[names['#mine']];
  if (mine instanceof Set && mine.size >= limits.reactionsPerUser) {
    return { done: false, refusal: 'too-many-reactions' };
  }
  return { done: false, refusal: 'too-many-emoji' };
}

const hasEmoji = (item: Item, emoji: string): boolean => {
  const all = item[EMOJI_SET];
  return all instanceof Set && all.has(emoji);
};

/**
 * Edits, deletions and reactions of a stored message: who may make them, what a reaction may be, and
 * how a refusal reaches the member who asked (protocol.md, Errors). Each change is one conditional
 * update of the message item (functions/adapters/message-changes.ts); the members learn of it from the
 * stream (`messageUpdated`), never by a push.
 */
import type { SendHookEvent } from '../../definitions/send-hook.ts';
import {
  clearTombstone,
  editContent,
  markDeleted,
  type Refusal,
  readEditable,
  setReaction,
} from '../adapters/message-changes.ts';
import { normalizeContent } from './content.ts';
import { BadRequestError, ForbiddenError, NotFoundError, type ParleyError, TooLargeError } from './errors.ts';
import type { ActionAckFrame, MessageChangeAckFrame } from './frames.ts';
import { resolveExisting } from './membership.ts';
import type { Caller, Conversation } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';
import { askSendHook, type SendHook } from './send-hook.ts';

/**
 * What a reaction may be. protocol.md: one emoji of at most 32 bytes of UTF-8, at most 50 distinct
 * emoji per message. Parley also lets one user put at most 10 emoji on one message: without it, a
 * group of 100 could hang 5,000 user ids on a message, and its `messageUpdated` frame (every reaction
 * with its users) would outgrow API Gateway's 128 KiB; with it, the worst case stays near 70 KB.
 */
const MAX_EMOJI_PER_MESSAGE = 50;
const MAX_REACTIONS_PER_USER = 10;
const MAX_EMOJI_BYTES = 32;

export interface EditMessageInput {
  caller: Caller;
  conversationId: string;
  seq: number;
  content: string;
  now: Date;
}

/**
 * Replaces the content of the caller's own message (the content rules of sendMessage). One
 * conditional update: the sender matches and the message is not deleted, so an edit racing a delete
 * can never bring the message back.
 */
export async function editMessage(input: EditMessageInput, hook?: SendHook): Promise<MessageChangeAckFrame> {
  let content = normalizeContent(input.content);
  await requireWithinRate(input.caller.userId, 'editMessage', input.now);
  // Members only, with the one answer for someone else's conversation and one that does not exist.
  const conversation = await resolveExisting({ conversationId: input.conversationId }, input.caller.userId);
  // The operator's send hook sees every edit too (integration.md), once the edit may be made: the
  // message is the caller's own and not deleted (read only when there is a hook).
  if (hook !== undefined) content = await askAboutEdit(hook, input, conversation, content);
  const result = await editContent(
    input.conversationId,
    input.seq,
    input.caller.userId,
    content,
    input.now.toISOString(),
  );
  if (!result.done) throw refusalError(result.refusal, input.seq);
  return { type: 'ack', action: 'editMessage', seq: input.seq };
}

/** The send hook's answer for an edit: the content to store, or its refusal. */
async function askAboutEdit(
  hook: SendHook,
  input: EditMessageInput,
  conversation: Conversation,
  content: string,
): Promise<string> {
  const found = await readEditable(input.conversationId, input.seq, input.caller.userId);
  if (!found.done) throw refusalError(found.refusal, input.seq);
  const event: SendHookEvent = {
    type: 'editMessage',
    senderId: input.caller.userId,
    conversationId: conversation.conversationId,
    kind: conversation.kind,
    members: conversation.members,
    // The edited message's own: a hook that charges per (senderId, clientMessageId) does not charge again.
    clientMessageId: found.message.clientMessageId,
    seq: input.seq,
    content,
    attachments: found.message.attachments.map(({ contentType, size }) => ({ contentType, size })),
    // Replies and mentions (protocol.md 1.2) are not taken yet: none to show.
    replyTo: null,
    mentions: [],
  };
  // An edit's content may not be empty (its attachments stay, but the text is what changes).
  return askSendHook(hook, event, { allowEmpty: false });
}

export interface DeleteMessageInput {
  caller: Caller;
  conversationId: string;
  seq: number;
  now: Date;
}

/**
 * Removes one attachment's object from the bucket. Passed in by the route
 * (functions/routes/delete-message.ts): importing the S3 client here would load it, and require
 * `ATTACHMENTS_BUCKET` at cold start, in the edit and react functions too.
 */
export type DeleteAttachment = (key: string) => Promise<void>;

/**
 * Deletes the caller's own message, leaving a tombstone in its `seq` (so `sync` stays gapless): first
 * the mark (content emptied, nothing can change it after), then its attachments' objects in the bucket,
 * then what the item still held. The item lists the attachments until their objects are gone, so
 * deleting again is answered like the first time and finishes whatever the first attempt left.
 */
export async function deleteMessage(
  input: DeleteMessageInput,
  deleteAttachment: DeleteAttachment,
): Promise<MessageChangeAckFrame> {
  const { conversationId, seq } = input;
  await requireWithinRate(input.caller.userId, 'deleteMessage', input.now);
  await resolveExisting({ conversationId }, input.caller.userId);
  const result = await markDeleted(conversationId, seq, input.caller.userId, input.now.toISOString());
  if (!result.done) throw refusalError(result.refusal, seq);
  await Promise.all(result.leftovers.attachments.map((attachment) => deleteAttachment(attachment.key)));
  await clearTombstone(conversationId, seq, result.leftovers);
  return { type: 'ack', action: 'deleteMessage', seq };
}

export interface ReactInput {
  caller: Caller;
  conversationId: string;
  seq: number;
  emoji: string;
  on: boolean;
  now: Date;
}

/**
 * Adds (`on`) or removes the caller's reaction with one emoji; repeating either changes nothing.
 * Removing a reaction from a deleted message is a no-op success (it has none); adding one is refused.
 */
export async function react(input: ReactInput): Promise<ActionAckFrame> {
  const emoji = requireEmoji(input.emoji);
  await requireWithinRate(input.caller.userId, 'react', input.now);
  await resolveExisting({ conversationId: input.conversationId }, input.caller.userId);
  const result = await setReaction(input.conversationId, input.seq, input.caller.userId, emoji, input.on, {
    emojiPerMessage: MAX_EMOJI_PER_MESSAGE,
    reactionsPerUser: MAX_REACTIONS_PER_USER,
  });
  if (!result.done) throw refusalError(result.refusal, input.seq);
  return { type: 'ack', action: 'react' };
}

/** Built on first use: loading ICU's segmentation data is cold-start time edit and delete never need. */
let graphemes: Intl.Segmenter | undefined;
/** A pictograph, a flag's regional indicators, or a keycap (`1️⃣`): digits and `#` alone are not emoji. */
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

/** The emoji as sent, when it is one emoji; refused otherwise (nothing is stored). */
function requireEmoji(emoji: string): string {
  if (Buffer.byteLength(emoji, 'utf8') > MAX_EMOJI_BYTES) {
    throw new TooLargeError(`emoji: more than ${MAX_EMOJI_BYTES} bytes of UTF-8`);
  }
  graphemes ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  const clusters = [...graphemes.segment(emoji)];
  if (clusters.length !== 1 || !EMOJI.test(emoji))
    throw new BadRequestError('emoji: must be exactly one emoji');
  return emoji;
}

/** How a refused edit, deletion or reaction reaches the member who asked. */
function refusalError(refusal: Refusal, seq: number): ParleyError {
  switch (refusal) {
    case 'missing':
      return new NotFoundError(`no message with seq ${seq} in this conversation`);
    case 'not-sender':
      return new ForbiddenError('only its sender can change a message');
    case 'deleted':
      return new NotFoundError(`the message with seq ${seq} was deleted`);
    case 'too-many-emoji':
      return new TooLargeError(`a message has at most ${MAX_EMOJI_PER_MESSAGE} different emoji`);
    case 'too-many-reactions':
      return new TooLargeError(`one user reacts to a message with at most ${MAX_REACTIONS_PER_USER} emoji`);
  }
}

/**
 * Client → server frames of protocol.md as zod schemas (zod/mini: it tree-shakes to a few KB, which
 * matters against the 400 KB bundle budget). Unknown extra fields are ignored so that newer clients
 * keep working against this server.
 */
import * as z from 'zod/mini';
import { PUSH_PLATFORM_NAMES } from '../../definitions/push-platforms.ts';
import { REPORT_REASONS } from '../../definitions/reports.ts';
import { ATTACHMENT_CONTENT_TYPES, MAX_ATTACHMENTS } from '../domain/attachment-rules.ts';
import { MAX_GROUP_MEMBERS } from '../domain/group-rules.ts';
import { clientMessageId, conversationId, SYNC_LIMITS, userId } from './id-schemas.ts';

/** Content rules (trimmed length) are the domain's: see functions/domain/content.ts. */
const content = z.string();
const seq = z.int().check(z.minimum(1));

const hasOneTarget = (frame: { conversationId?: string; to?: string }): boolean =>
  (frame.conversationId === undefined) !== (frame.to === undefined);

/** `conversationId` or `to`: exactly one of them. */
function conversationTarget<T extends z.core.$ZodShape>(shape: T) {
  return z.object({ ...shape, conversationId: z.optional(conversationId), to: z.optional(userId) }).check(
    z.refine((frame) => hasOneTarget(frame as { conversationId?: string; to?: string }), {
      message: 'give either conversationId or to',
    }),
  );
}

/** An upload the client was given by `requestUpload` (its id is Parley's, so only bounded here). */
const attachmentRef = z.object({ uploadId: z.string().check(z.minLength(1), z.maxLength(128)) });

export const sendMessageFrame = conversationTarget({
  action: z.literal('sendMessage'),
  clientMessageId,
  content,
  // Up to 10 (more is too_large); `content` may then be empty (functions/domain/content.ts).
  attachments: z.optional(z.array(attachmentRef).check(z.maxLength(MAX_ATTACHMENTS))),
});

export const typingFrame = conversationTarget({
  action: z.literal('typing'),
  state: z.enum(['start', 'stop']),
});

export const markReadFrame = z.object({
  action: z.literal('markRead'),
  conversationId,
  seq,
});

export const leaveConversationFrame = z.object({
  action: z.literal('leaveConversation'),
  conversationId,
});

export const registerDeviceFrame = z.object({
  action: z.literal('registerDevice'),
  platform: z.enum(PUSH_PLATFORM_NAMES),
  // APNs tokens are 64 hex chars and FCM tokens about 160; 4096 leaves room without inviting abuse.
  token: z.string().check(z.minLength(1), z.maxLength(4096)),
});

/**
 * Types and lengths only: dedupe, adding the caller, counting 2–100 and the title's trimmed length are
 * the domain's (functions/domain/group-rules.ts). More than 100 entries is too_large even before
 * duplicates are removed. `title: null` is no title.
 */
export const createConversationFrame = z.object({
  action: z.literal('createConversation'),
  // The same rules as clientMessageId (protocol.md).
  clientRequestId: clientMessageId,
  members: z.array(userId).check(z.maxLength(MAX_GROUP_MEMBERS)),
  title: z.optional(z.nullable(z.string())),
});

/** Page sizes of `sync` (protocol.md): 1–100 messages, 50 when not given. */

/**
 * `sync`: with `conversationId`, a page of that conversation's messages after `afterSeq`; without, the
 * caller's conversation list from `cursor`. A number out of range is bad_request (not too_large).
 * (1.2) `afterVersion` instead of `afterSeq`: the messages changed or added after that version.
 */
export const syncFrame = z.object({
  action: z.literal('sync'),
  conversationId: z.optional(conversationId),
  afterSeq: z.optional(z.int().check(z.minimum(0))),
  afterVersion: z.optional(z.int().check(z.minimum(0))),
  limit: z._default(
    z.int().check(z.minimum(SYNC_LIMITS.min), z.maximum(SYNC_LIMITS.max)),
    SYNC_LIMITS.default,
  ),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
});

/** `editMessage`: the content rules are sendMessage's (functions/domain/content.ts). */
export const editMessageFrame = z.object({
  action: z.literal('editMessage'),
  conversationId,
  seq,
  content,
});

export const deleteMessageFrame = z.object({
  action: z.literal('deleteMessage'),
  conversationId,
  seq,
});

/** `react`: what counts as one emoji is the domain's (functions/domain/message-changes.ts). */
export const reactFrame = z.object({
  action: z.literal('react'),
  conversationId,
  seq,
  emoji: z.string(),
  on: z.boolean(),
});

/**
 * `requestUpload`: a type of protocol.md's list (else bad_request) and a whole number of bytes ≥ 1.
 * Over 25 MiB is too_large, which the domain decides (functions/domain/request-upload.ts): a number
 * over its maximum would be bad_request here.
 */
export const requestUploadFrame = z.object({
  action: z.literal('requestUpload'),
  // The same rules as clientMessageId (protocol.md).
  clientRequestId: clientMessageId,
  contentType: z.enum(ATTACHMENT_CONTENT_TYPES),
  size: z.int().check(z.minimum(1)),
});

/**
 * (1.2) `report`: a message (`seq`) or, without `seq`, the conversation. A reason of protocol.md's list
 * (else bad_request). The note's rules (trimmed, at most 1000 characters as people count them, blank or
 * `null` is none) are the domain's (functions/domain/report.ts).
 */
export const reportFrame = z.object({
  action: z.literal('report'),
  // The same rules as clientMessageId (protocol.md).
  clientRequestId: clientMessageId,
  conversationId,
  seq: z.optional(seq),
  reason: z.enum(REPORT_REASONS),
  note: z.optional(z.nullable(z.string())),
});

/** (1.2) `block`: `on: false` unblocks. Blocking oneself is the domain's refusal (functions/domain/blocks.ts). */
export const blockFrame = z.object({
  action: z.literal('block'),
  userId,
  on: z.boolean(),
});

export const listBlocksFrame = z.object({ action: z.literal('listBlocks') });

export const acceptRequestFrame = z.object({
  action: z.literal('acceptRequest'),
  conversationId,
});

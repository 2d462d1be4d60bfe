import type { SendHookEvent } from '../../definitions/send-hook.ts';
import { type CommitResult, commitMessage, committedSend } from '../adapters/message-store.ts';
import type { attachUploads } from './attachments.ts';
import { normalizeContent } from './content.ts';
import { BadRequestError } from './errors.ts';
import type { SendAckFrame } from './frames.ts';
import { newMessageId } from './identifiers.ts';
import {
  type ConversationTarget,
  refuseMessageToSelf,
  resolveForSending,
  type SendingTarget,
} from './membership.ts';
import type { Caller, StoredAttachment } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';
import { askSendHook, type SendHook } from './send-hook.ts';

export interface SendMessageInput extends ConversationTarget {
  caller: Caller;
  connectionId: string;
  clientMessageId: string;
  content: string;
  /** Up to 10 of the sender's uploads (protocol.md 1.1); `content` may then be empty. */
  attachments?: readonly { uploadId: string }[];
  now: Date;
}

/**
 * Within the sender's rate limit, commits the message exactly once with the conversation's next `seq` and answers the `ack`. It never
 * posts the message: the table's stream delivers what is stored (architecture.md).
 */
/**
 * Claims a message's uploads (attachments.ts). Passed in by the WebSocket route, the one path that
 * takes attachments: the server API's messages have none, and its bundle stays without the upload code.
 */
export type AttachUploads = typeof attachUploads;

export async function sendMessage(
  input: SendMessageInput,
  hook?: SendHook,
  attach?: AttachUploads,
): Promise<SendAckFrame> {
  const uploadIds = (input.attachments ?? []).map((attachment) => attachment.uploadId);
  const content = normalizeContent(input.content, { allowEmpty: uploadIds.length > 0 });
  // Before anything that writes (a first message creates the direct conversation).
  refuseMessageToSelf(input, input.caller.userId);
  await requireWithinRate(input.caller.userId, 'sendMessage', input.now);
  const target = await resolveForSending(input, input.caller.userId, input.now);
  // After membership: a non-member learns nothing about uploads either. Each upload is claimed for this
  // clientMessageId before the commit, so a retry of it (after a failed commit, or answered as the
  // duplicate) passes, and any other message is refused it. Before a first message creates its direct
  // conversation: a refused upload leaves no conversation behind.
  if (uploadIds.length > 0 && attach === undefined) {
    throw new BadRequestError('attachments: this path takes none');
  }
  const attachments =
    attach === undefined || uploadIds.length === 0
      ? []
      : await attach(
          {
            senderId: input.caller.userId,
            clientMessageId: input.clientMessageId,
            conversationId: target.conversationId,
          },
          uploadIds,
        );
  // The operator's send hook (integration.md), once every other check passed and before anything is
  // created or stored: a refused first message leaves no conversation. A retry of a committed
  // clientMessageId is answered from that commit without asking the hook again; without a hook, the
  // commit below finds it, and nothing more is read.
  let stored = content;
  if (hook !== undefined) {
    const committed = await committedSend(input.caller.userId, input.clientMessageId);
    if (committed !== undefined) return sendAck(committed, true);
    stored = await askSendHook(hook, sendHookEvent(input, target, content, attachments), {
      allowEmpty: uploadIds.length > 0,
    });
  }
  const conversation = await target.ensure();
  const { message, duplicate } = await commitMessage({
    conversationId: conversation.conversationId,
    messageId: newMessageId(),
    senderId: input.caller.userId,
    senderName: input.caller.name,
    content: stored,
    createdAt: input.now.toISOString(),
    clientMessageId: input.clientMessageId,
    originConnectionId: input.connectionId,
    ...(attachments.length > 0 && { attachments }),
  });
  return sendAck(message, duplicate);
}

function sendAck(message: CommitResult['message'], duplicate: boolean): SendAckFrame {
  return {
    type: 'ack',
    action: 'sendMessage',
    clientMessageId: message.clientMessageId,
    conversationId: message.conversationId,
    messageId: message.messageId,
    seq: message.seq,
    createdAt: message.createdAt,
    duplicate,
  };
}

/** What the send hook is asked about: the message as it would be stored, where it would go. */
function sendHookEvent(
  input: SendMessageInput,
  target: SendingTarget,
  content: string,
  attachments: readonly StoredAttachment[],
): SendHookEvent {
  return {
    type: 'sendMessage',
    senderId: input.caller.userId,
    conversationId: target.conversationId,
    kind: target.kind,
    members: target.members,
    clientMessageId: input.clientMessageId,
    content,
    attachments: attachments.map(({ contentType, size }) => ({ contentType, size })),
    // Replies and mentions (protocol.md 1.2) are not taken yet: none to show.
    replyTo: null,
    mentions: [],
  };
}

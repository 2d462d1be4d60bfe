/**
 * `acceptRequest` (protocol.md 1.2, "Who may talk to whom"): under the `requests` contact policy, the
 * user a direct conversation was started with accepts it. From then on it is an ordinary conversation:
 * presence, typing and receipts flow (consent), the creator may put them in groups, and each message
 * pushes. Idempotent: a conversation that is no request (accepted already, answered by a message, the
 * caller's own, or any conversation under `open`) is acked and nothing changes.
 */
import { getMember } from '../adapters/member-store.ts';
import { acceptRequest as accept } from '../adapters/request-store.ts';
import { BadRequestError } from './errors.ts';
import type { ActionAckFrame } from './frames.ts';
import { DIRECT_ID_PREFIX } from './identifiers.ts';
import { notAMember } from './membership.ts';
import type { Caller } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface AcceptRequestInput {
  caller: Caller;
  conversationId: string;
  now: Date;
}

const ACK: ActionAckFrame = { type: 'ack', action: 'acceptRequest' };

export async function acceptRequest(input: AcceptRequestInput): Promise<ActionAckFrame> {
  const { conversationId } = input;
  const { userId } = input.caller;
  // Decided on the id alone, before anything is read: it tells nobody whether the group exists.
  if (!conversationId.startsWith(DIRECT_ID_PREFIX)) {
    throw new BadRequestError('conversationId: only a direct conversation can be a request');
  }
  await requireWithinRate(userId, 'acceptRequest', input.now);
  // A non-member gets the one refusal every conversation action gives, whether or not it exists: a
  // direct conversation's member items are written with it, so the caller's own item decides.
  const cursor = await getMember(conversationId, userId);
  if (cursor === undefined) throw notAMember();
  if (cursor.request !== true || cursor.peer === undefined) return ACK;
  await accept(conversationId, userId, cursor.peer, input.now.toISOString());
  return ACK;
}

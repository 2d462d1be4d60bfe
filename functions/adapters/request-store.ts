/**
 * (1.2) Message requests (contact policy `requests`, protocol.md "Who may talk to whom"). The member item
 * of the user who did not start a direct conversation carries `pendingRequest: true` (`request` is one
 * of DynamoDB's reserved words) from its creation
 * (conversation-store.ts) until they write in it (delivery's recordSent removes it) or accept it here.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { InternalError } from '../domain/errors.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { ACCEPT_BY, PEER_ACCEPT_BY } from './changed-by.ts';
import { keys } from './keys.ts';
import { answeredPart, consentPart, listBucketOf, updateEntry } from './list-entries.ts';

/**
 * Accepts the request `userId` has in a direct conversation with `peerId`: consent, as if both had
 * written (each item's `sent` / `peerSent`, list-entries.ts). One transaction, so that neither user ever
 * has consent without the other: the acceptor's entry loses `pendingRequest` and moves (their other devices
 * re-read it), and its change (`changedBy: 'accept'`) has delivery introduce the two users' presence.
 * 'not_a_request' when there is none: accepted already, answered already, or never one (the caller
 * started it, or the policy was `open`); nothing changes then. Delivery updates both items with every
 * message: a transaction that meets such a write in flight is tried again, a few times.
 */
export async function acceptRequest(
  conversationId: string,
  userId: string,
  peerId: string,
  at: string,
): Promise<'accepted' | 'not_a_request'> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await tryAccept(conversationId, userId, peerId, at);
    if (outcome !== 'conflict') return outcome;
    if (attempt === MAX_ATTEMPTS) throw new InternalError('acceptRequest kept meeting concurrent writes');
  }
}

const MAX_ATTEMPTS = 3;

async function tryAccept(
  conversationId: string,
  userId: string,
  peerId: string,
  at: string,
): Promise<'accepted' | 'not_a_request' | 'conflict'> {
  try {
    await dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: TABLE_NAME,
              Key: keys.member(conversationId, userId),
              UpdateExpression:
                'SET sent = :yes, changedBy = :by, changedAt = :at, listAt = :listAt REMOVE pendingRequest',
              ConditionExpression: 'pendingRequest = :yes',
              ExpressionAttributeValues: {
                ':yes': true,
                ':by': ACCEPT_BY,
                ':at': at,
                ':listAt': listBucketOf(at),
              },
            },
          },
          {
            Update: {
              TableName: TABLE_NAME,
              Key: keys.member(conversationId, peerId),
              UpdateExpression: 'SET peerSent = :yes, changedBy = :by',
              ConditionExpression: 'attribute_exists(PK)',
              ExpressionAttributeValues: { ':yes': true, ':by': PEER_ACCEPT_BY },
            },
          },
        ],
      }),
    );
    return 'accepted';
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
    if (codes[0] === 'ConditionalCheckFailed') return 'not_a_request';
    if (codes.includes('TransactionConflict')) return 'conflict';
    throw error;
  }
}

/**
 * The app's backend made (or remade) a direct conversation (integration.md: accepted for every member):
 * consent on both member items and no request. The other item first and `userId`'s last, marked as an
 * accept, so that its stored change has delivery introduce the two once both hold it.
 */
export async function acceptForBoth(
  conversationId: string,
  userId: string,
  peerId: string,
  at: string,
): Promise<void> {
  const parts = [consentPart('sent'), consentPart('peerSent'), answeredPart()];
  await updateEntry({ conversationId, userId: peerId, parts, movedAt: at, changedBy: PEER_ACCEPT_BY });
  await updateEntry({ conversationId, userId, parts, movedAt: at, changedBy: ACCEPT_BY });
}

/**
 * `report` (protocol.md 1.2, "Safety between users"): a member reports one message (`seq`) or the
 * conversation, with a reason and an optional note. The report keeps a copy of what it is about, as it
 * was at that moment, so that an edit or a deletion afterwards erases no evidence:
 * - a message report copies that message (a tombstone too: it exists); a `seq` with no message is
 *   `not_found`, for a member only;
 * - a conversation report copies its newest 50 messages (CONVERSATION_REPORT_MESSAGES), fewer when they
 *   would weigh over MAX_REPORT_COPY_BYTES together (the newest one always).
 * A copy holds what the message item held: content, `senderId`, `seq`, `messageId`, `createdAt`,
 * `clientMessageId`, attachments (their id, type, size and bucket key: the metadata, not the file, which
 * a deletion of the message removes from the bucket), `editedAt`, `deleted`, reactions, `version`.
 *
 * Checked in this order, so that a refused report stores nothing: the note (too_large, before any
 * call), the reporter's rate limit (`rate_limited`; by default 10 at once, then 2 a minute:
 * definitions/rate-limits.ts), membership (the shared `forbidden` for a non-member, whether or not the
 * conversation exists: membership.ts), the message; then one transaction stores the report with its
 * copies (functions/adapters/report-store.ts). A retry of a `clientRequestId` already stored is
 * answered with the same `reportId` before anything else is read, even if the caller has left the
 * conversation since or names another one: the first report stands, as the first commit of a
 * `clientMessageId` does.
 */
import {
  CONVERSATION_REPORT_MESSAGES,
  MAX_REPORT_COPY_BYTES,
  MAX_REPORT_NOTE_CHARACTERS,
  type ReportReason,
} from '../../definitions/reports.ts';
import { readLatestMessages, readMessageAt } from '../adapters/message-history.ts';
import { getReport, type MessageCopy, storeReport } from '../adapters/report-store.ts';
import { countMetric } from '../shared/metrics.ts';
import { InternalError, NotFoundError, TooLargeError } from './errors.ts';
import type { ReportAckFrame } from './frames.ts';
import { reportIdFor } from './identifiers.ts';
import { requireMemberCursor } from './membership.ts';
import type { Caller, StoredMessage } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface ReportInput {
  caller: Caller;
  clientRequestId: string;
  conversationId: string;
  seq?: number | undefined;
  reason: ReportReason;
  note?: string | null | undefined;
  now: Date;
}

/** Concurrent retries of one report that keep colliding in their transactions: this many tries. */
const STORE_ATTEMPTS = 5;
const MAX_BACKOFF_MS = 200;

export async function report(input: ReportInput): Promise<ReportAckFrame> {
  const { caller, clientRequestId, conversationId, seq, reason, now } = input;
  const note = normalizeNote(input.note);
  await requireWithinRate(caller.userId, 'report', now);
  const reportId = reportIdFor(caller.userId, clientRequestId);
  const ack: ReportAckFrame = { type: 'ack', action: 'report', clientRequestId, reportId };
  if ((await getReport(reportId)) !== undefined) return ack;

  await requireMemberCursor(conversationId, caller.userId);
  const copies =
    seq === undefined ? await conversationCopies(conversationId) : [await messageCopy(conversationId, seq)];
  const record = {
    reportId,
    reporterId: caller.userId,
    clientRequestId,
    conversationId,
    ...(seq !== undefined && { seq }),
    reason,
    ...(note !== undefined && { note }),
    reportedAt: now.toISOString(),
    status: 'open' as const,
    messageCount: copies.length,
  };
  for (let attempt = 1; ; attempt++) {
    const outcome = await storeReport(record, copies);
    if (outcome === 'stored') {
      countMetric('Reports', { Reason: reason });
      return ack;
    }
    // Another request with this clientRequestId stored it first: the same report, answered the same.
    if (outcome === 'exists') return ack;
    if (attempt >= STORE_ATTEMPTS)
      throw new InternalError(`report ${reportId}: transactions kept conflicting`);
    await sleep(Math.random() * MAX_BACKOFF_MS);
  }
}

/** The note as stored: trimmed, undefined when none was given or it was blank. */
export function normalizeNote(note: string | null | undefined): string | undefined {
  const trimmed = note?.trim() ?? '';
  if (trimmed === '') return undefined;
  if (Array.from(trimmed).length > MAX_REPORT_NOTE_CHARACTERS) {
    throw new TooLargeError(`note: more than ${MAX_REPORT_NOTE_CHARACTERS} characters`);
  }
  return trimmed;
}

async function messageCopy(conversationId: string, seq: number): Promise<MessageCopy> {
  const message = await readMessageAt(conversationId, seq);
  if (message === undefined) throw new NotFoundError(`no message with seq ${seq} in this conversation`);
  return copyOf(message);
}

/** The newest messages, ascending `seq`, within the size budget (the newest always). */
async function conversationCopies(conversationId: string): Promise<MessageCopy[]> {
  const newestFirst = (await readLatestMessages(conversationId, CONVERSATION_REPORT_MESSAGES)).map(copyOf);
  const kept: MessageCopy[] = [];
  let bytes = 0;
  for (const copy of newestFirst) {
    bytes += Buffer.byteLength(JSON.stringify(copy));
    if (kept.length > 0 && bytes > MAX_REPORT_COPY_BYTES) break;
    kept.push(copy);
  }
  return kept.reverse();
}

function copyOf(message: StoredMessage): MessageCopy {
  const { originConnectionId: _, ...copy } = message;
  return copy;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reports (protocol.md 1.2, "Safety between users"): what a member may give as a reason, and what a report
 * keeps. Read by the frame schema, the domain (functions/domain/report.ts), the `Reports` metric's `Reason`
 * dimension (definitions/metrics.ts), the operators' tools (admin/report-commands.ts) and the tests.
 */

/** protocol.md's `reason` values, and nothing else (anything else is `bad_request`). */
export const REPORT_REASONS = [
  'spam',
  'harassment',
  'hate',
  'sexual',
  'violence',
  'minor_safety',
  'scam',
  'other',
] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];

/** A report is `open` until an operator resolves it; resolving is final (resolving again changes nothing). */
export const REPORT_STATUSES = ['open', 'resolved'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

/** protocol.md: `note` ≤ 1000 characters, counted as people count them (code points), after trimming. */
export const MAX_REPORT_NOTE_CHARACTERS = 1000;

/**
 * A report of a whole conversation copies its newest messages, this many at most: what a moderator reads
 * to judge it. Older history stays in the conversation (and is erased with it).
 */
export const CONVERSATION_REPORT_MESSAGES = 50;

/**
 * The copies and the report are written in one TransactWriteItems (4 MB at most): messages beyond the
 * newest one are left out once the copies would weigh more than this. Only messages near their limits
 * (4,000 characters of 4-byte text, reactions of 100 members) come near it; 50 ordinary messages weigh
 * some tens of KB.
 */
export const MAX_REPORT_COPY_BYTES = 3_000_000;

/** The operators' tools resolve a note too: the same limit as the reporter's. */
export const MAX_RESOLUTION_NOTE_CHARACTERS = MAX_REPORT_NOTE_CHARACTERS;

/**
 * (1.2) The operators' side of reports: the queue by status and resolving one. Run by the admin tool
 * against a deployed stack (with the operator's credentials, on the table its outputs name) and by the
 * local stack's `/_local/reports` endpoints: one implementation for both, like operations.ts. Nothing
 * here is reachable from a route, so no Lambda may read the `reports` index.
 */
import { MAX_RESOLUTION_NOTE_CHARACTERS, type ReportStatus } from '../../definitions/reports.ts';
import {
  listReportsByStatus,
  type MessageCopy,
  markResolved,
  type ReportRecord,
  type ResolveOutcome,
  readCopies,
} from '../adapters/report-store.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { logger } from '../shared/logger.ts';
import { BadRequestError, TooLargeError } from './errors.ts';
import { REPORT_ID_PATTERN } from './identifiers.ts';

/** A report as the operators see it, with the messages it copied (ascending `seq`). */
export interface ReportView extends ReportRecord {
  messages: MessageCopy[];
}

export interface ReportList {
  reports: ReportView[];
  /** More reports in this status than `limit`. */
  more: boolean;
}

/** At most this many reports per listing: each costs a Query of its copies. */
export const MAX_REPORT_LIST = 1_000;

/**
 * The newest `limit` reports in `status`, each with its copies. The index is eventually consistent: a
 * report filed or resolved a moment ago may be missing or still listed under its old status.
 */
export async function listReports(status: ReportStatus, limit: number): Promise<ReportList> {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REPORT_LIST) {
    throw new BadRequestError(`limit: a whole number from 1 to ${MAX_REPORT_LIST}`);
  }
  const records: ReportRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await listReportsByStatus(status, limit - records.length, startKey);
    records.push(...page.reports);
    startKey = page.next;
  } while (startKey !== undefined && records.length < limit);
  const reports = await mapConcurrently(records, 8, async (record) => ({
    ...record,
    messages: await readCopies(record.reportId),
  }));
  return { reports, more: startKey !== undefined };
}

/**
 * Resolves an open report: `resolved` now, by `by`, with an optional note (trimmed, at most 1000
 * characters). Idempotent: a report resolved before stays as its first resolution left it
 * (`already_resolved`). An id that cannot be a report's is refused before anything is read.
 */
export async function resolveReport(
  reportId: string,
  by: string,
  options: { note?: string | undefined; now?: Date } = {},
): Promise<ResolveOutcome> {
  if (!REPORT_ID_PATTERN.test(reportId))
    throw new BadRequestError(`not a report id: ${JSON.stringify(reportId)}`);
  const note = options.note?.trim() || undefined;
  if (note !== undefined && Array.from(note).length > MAX_RESOLUTION_NOTE_CHARACTERS) {
    throw new TooLargeError(`note: more than ${MAX_RESOLUTION_NOTE_CHARACTERS} characters`);
  }
  const resolvedAt = (options.now ?? new Date()).toISOString();
  const result = await markResolved(reportId, { resolvedAt, resolvedBy: by, note });
  logger.info('report resolution', { reportId, outcome: result.outcome, by, at: resolvedAt });
  return result;
}

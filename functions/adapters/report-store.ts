/**
 * (1.2) Reports and their copies of the reported messages, in one partition per report:
 * `REPORT#{reportId}` / `REPORT` (who reported what, why, and where it stands) and `REPORT#{reportId}` /
 * `MSG#{seq}` (one copy per message, as the message item held it when the report was made).
 *
 * - Idempotent per (reporter, clientRequestId) without read-then-write: the report id is derived from
 *   that pair (functions/domain/identifiers.ts), and the report and its copies are put in one
 *   TransactWriteItems, each `attribute_not_exists(PK)`: of concurrent retries exactly one commits, the
 *   others fail on the condition (and learn the report exists) or on the conflict (and try again).
 *   All or nothing, so a report never exists without its copies, and a later retry never overwrites a
 *   copy with what the message became since (an edit or a deletion after the report erases no evidence).
 * - Listed by status without a Scan: only report items carry `reportStatus`, the partition key of the
 *   sparse `reports` index (definitions/table.ts), sorted by `reportedAt`.
 * - Resolved by one conditional UpdateItem (`reportStatus = open`): resolving twice keeps the first
 *   resolution. The item is never deleted; its copies neither.
 * Nothing here is delivered: the stream's filter (definitions/stream.ts) matches no report item.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { REPORT_REASONS, type ReportReason, type ReportStatus } from '../../definitions/reports.ts';
import { REPORTS_INDEX } from '../../definitions/table.ts';
import type { StoredMessage } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys, MESSAGE_PREFIX } from './keys.ts';

type Item = Record<string, unknown>;

/** A message as a report keeps it: everything its item held but the connection that sent it. */
export type MessageCopy = Omit<StoredMessage, 'originConnectionId'>;

export interface ReportRecord {
  reportId: string;
  reporterId: string;
  conversationId: string;
  /** A report of one message; absent for a report of the conversation. */
  seq?: number;
  reason: ReportReason;
  /** The reporter's note, trimmed; absent when none was given. */
  note?: string;
  reportedAt: string;
  status: ReportStatus;
  /** How many messages the report copied. */
  messageCount: number;
  resolvedAt?: string;
  /** Who resolved it (the operator's name as the tool was given it). */
  resolvedBy?: string;
  resolutionNote?: string;
}

/** What the transaction that stores a report did. */
export type StoreOutcome = 'stored' | 'exists' | 'conflict';

/**
 * Puts the report (status `open`) and its copies at once. `exists`: a report with this id was already
 * stored (its copies with it); `conflict`: a concurrent transaction on the same items held them, and
 * neither condition was decided: try again.
 */
export async function storeReport(
  report: ReportRecord & { clientRequestId: string },
  copies: readonly MessageCopy[],
): Promise<StoreOutcome> {
  const put = (Item: Item) => ({
    Put: { TableName: TABLE_NAME, Item, ConditionExpression: 'attribute_not_exists(PK)' },
  });
  const { status, ...fields } = report;
  try {
    await dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          put({ ...keys.report(report.reportId), type: 'report', ...fields, reportStatus: status }),
          ...copies.map((message) =>
            put({
              ...keys.reportCopy(report.reportId, message.seq),
              type: 'reportCopy',
              reportId: report.reportId,
              // Nested, so that none of the message's own attributes (`version`, reactions) lands in
              // an index or looks like a message to anything that reads top-level attributes.
              message,
            }),
          ),
        ],
      }),
    );
    return 'stored';
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
    // The copies are only ever written with their report: any of them there means the report is.
    if (codes.includes('ConditionalCheckFailed')) return 'exists';
    if (codes.includes('TransactionConflict')) return 'conflict';
    throw error;
  }
}

/** The report, strongly consistent (its copies are not read); undefined when there is none. */
export async function getReport(reportId: string): Promise<ReportRecord | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.report(reportId), ConsistentRead: true }),
  );
  return Item === undefined ? undefined : toReport(Item);
}

/** The report's copies, ascending `seq` (strongly consistent: they were written with the report). */
export async function readCopies(reportId: string): Promise<MessageCopy[]> {
  const copies: MessageCopy[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
        ExpressionAttributeValues: { ':pk': keys.report(reportId).PK, ':msg': MESSAGE_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      if (typeof item.message === 'object' && item.message !== null) copies.push(item.message as MessageCopy);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey !== undefined);
  return copies;
}

export interface ReportPage {
  reports: ReportRecord[];
  /** Where the next page starts; undefined when there are no more. */
  next: Item | undefined;
}

/**
 * Up to `limit` reports in `status`, newest first: one Query of the `reports` index (eventually
 * consistent, like every global index: a report filed or resolved a moment ago may not show yet).
 */
export async function listReportsByStatus(
  status: ReportStatus,
  limit: number,
  startKey?: Item,
): Promise<ReportPage> {
  const { Items = [], LastEvaluatedKey } = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      IndexName: REPORTS_INDEX,
      KeyConditionExpression: 'reportStatus = :status',
      ExpressionAttributeValues: { ':status': status },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: startKey,
    }),
  );
  return { reports: Items.map(toReport), next: LastEvaluatedKey };
}

export type ResolveOutcome =
  | { outcome: 'resolved'; report: ReportRecord }
  /** It was resolved before: the first resolution stands, unchanged. */
  | { outcome: 'already_resolved'; report: ReportRecord }
  | { outcome: 'not_found' };

/** Marks an open report resolved (one conditional UpdateItem); a resolved one is left as it is. */
export async function markResolved(
  reportId: string,
  resolution: { resolvedAt: string; resolvedBy: string; note: string | undefined },
): Promise<ResolveOutcome> {
  try {
    const { Attributes } = await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.report(reportId),
        UpdateExpression: `SET reportStatus = :resolved, resolvedAt = :at, resolvedBy = :by${
          resolution.note === undefined ? '' : ', resolutionNote = :note'
        }`,
        ConditionExpression: 'attribute_exists(PK) AND reportStatus = :open',
        ExpressionAttributeValues: {
          ':resolved': 'resolved' satisfies ReportStatus,
          ':open': 'open' satisfies ReportStatus,
          ':at': resolution.resolvedAt,
          ':by': resolution.resolvedBy,
          ...(resolution.note !== undefined && { ':note': resolution.note }),
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { outcome: 'resolved', report: toReport(Attributes ?? {}) };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // lib-dynamodb does not unmarshall the item of a failed condition.
    if (error.Item === undefined) return { outcome: 'not_found' };
    return { outcome: 'already_resolved', report: toReport(unmarshall(error.Item)) };
  }
}

function toReport(item: Item): ReportRecord {
  const reason = REPORT_REASONS.find((value) => value === item.reason) ?? 'other';
  return {
    reportId: String(item.reportId),
    reporterId: String(item.reporterId),
    conversationId: String(item.conversationId),
    ...(typeof item.seq === 'number' && { seq: item.seq }),
    reason,
    ...(typeof item.note === 'string' && { note: item.note }),
    reportedAt: String(item.reportedAt),
    status: item.reportStatus === 'resolved' ? 'resolved' : 'open',
    messageCount: typeof item.messageCount === 'number' ? item.messageCount : 0,
    ...(typeof item.resolvedAt === 'string' && { resolvedAt: item.resolvedAt }),
    ...(typeof item.resolvedBy === 'string' && { resolvedBy: item.resolvedBy }),
    ...(typeof item.resolutionNote === 'string' && { resolutionNote: item.resolutionNote }),
  };
}

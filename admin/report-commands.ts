/**
 * `reports` and `resolve`: the report queue of protocol.md 1.2 ("Report"), for moderators. Against the
 * local stack through its `/_local/reports` endpoints (local/operations-routes.ts); against a deployed
 * stack with your AWS credentials, running the same domain functions (functions/domain/report-queue.ts)
 * on the table the outputs file names: a Query of the `reports` index (dynamodb:Query on
 * `table/NAME/index/reports`) and of each listed report's copies (dynamodb:Query on the table), and
 * one conditional UpdateItem to resolve.
 */
import {
  MAX_RESOLUTION_NOTE_CHARACTERS,
  REPORT_STATUSES,
  type ReportStatus,
} from '../definitions/reports.ts';
import type { MessageCopy, ResolveOutcome } from '../functions/adapters/report-store.ts';
import { REPORT_ID_PATTERN } from '../functions/domain/identifiers.ts';
import type { ReportList, ReportView } from '../functions/domain/report-queue.ts';

export type ReportCommand = 'reports' | 'resolve';
export const REPORT_COMMANDS: readonly string[] = ['reports', 'resolve'] satisfies ReportCommand[];

export type ReportTarget =
  | { kind: 'local'; url: string; adminKey: string | undefined }
  | { kind: 'aws'; outputsFile: string; stack: string | undefined };

export type ReportRequest =
  | { command: 'reports'; target: ReportTarget; status: ReportStatus; limit: number; json: boolean }
  | {
      command: 'resolve';
      target: ReportTarget;
      reportId: string;
      note: string | undefined;
      by: string;
      json: boolean;
    };

export const DEFAULT_REPORT_LIMIT = 100;
export const MAX_REPORT_LIMIT = 1_000;

/** The options of the command line that a report command may have been given. */
export interface ReportOptions {
  status?: string | undefined;
  note?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
  'dry-run'?: boolean | undefined;
}

/** The request, or the message of a mistake on the command line (exit 2). */
export function reportRequest(
  command: ReportCommand,
  positionals: readonly (string | undefined)[],
  options: ReportOptions,
  target: ReportTarget,
  by: string,
): ReportRequest | string {
  const [id, extra] = positionals;
  if (options['dry-run'] !== undefined) return '--dry-run is for redrive';
  if (command === 'reports') {
    if (id !== undefined) return `unexpected argument "${id}"`;
    if (options.note !== undefined) return '--note is for resolve';
    const status = options.status ?? 'open';
    if (!(REPORT_STATUSES as readonly string[]).includes(status)) {
      return `--status must be ${REPORT_STATUSES.join(' or ')}`;
    }
    const limit = options.limit === undefined ? DEFAULT_REPORT_LIMIT : wholeNumber(options.limit);
    if (!(limit >= 1 && limit <= MAX_REPORT_LIMIT)) {
      return `--limit must be a whole number from 1 to ${MAX_REPORT_LIMIT}`;
    }
    return { command, target, status: status as ReportStatus, limit, json: options.json === true };
  }
  if (id === undefined || id === '') return 'missing <reportId>';
  if (extra !== undefined) return `unexpected argument "${extra}"`;
  if (!REPORT_ID_PATTERN.test(id)) return `not a report id: "${id}" (they look like rp_ and 32 characters)`;
  for (const option of ['status', 'limit'] as const) {
    if (options[option] !== undefined) return `--${option} is for reports`;
  }
  const note = options.note?.trim() || undefined;
  if (note !== undefined && Array.from(note).length > MAX_RESOLUTION_NOTE_CHARACTERS) {
    return `--note: at most ${MAX_RESOLUTION_NOTE_CHARACTERS} characters`;
  }
  return { command, target, reportId: id, note, by, json: options.json === true };
}

const wholeNumber = (text: string): number => (/^\d+$/.test(text) ? Number(text) : Number.NaN);

type Outputs = (file: string, stack: string | undefined) => Promise<Record<string, string>>;
type ReportQueue = typeof import('../functions/domain/report-queue.ts');

/** What to print, and whether it was done (exit 0) or not (exit 1: a report that does not exist). */
export async function runReportCommand(
  request: ReportRequest,
  outputsOf: Outputs,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ output: string; ok: boolean }> {
  const { target } = request;
  const where = target.kind === 'local' ? `local stack at ${target.url}` : undefined;
  if (request.command === 'reports') {
    const list =
      target.kind === 'local'
        ? ((await localRequest(
            target,
            'GET',
            `/_local/reports?status=${request.status}&limit=${request.limit}`,
          )) as ReportList)
        : await (await deployedQueue(target, outputsOf, env)).listReports(request.status, request.limit);
    return { output: formatReports(list, request), ok: true };
  }
  const result: ResolveOutcome =
    target.kind === 'local'
      ? await resolveLocal(target, request)
      : await (await deployedQueue(target, outputsOf, env)).resolveReport(request.reportId, request.by, {
          note: request.note,
        });
  if (request.json) return { output: JSON.stringify(result, null, 2), ok: result.outcome !== 'not_found' };
  return { output: formatResolution(request.reportId, result, where), ok: result.outcome !== 'not_found' };
}

/**
 * The domain's functions on the deployed table, with your credentials. Its DynamoDB client reads
 * `TABLE_NAME` (and the region) when first imported, as in Lambda.
 */
async function deployedQueue(
  target: Extract<ReportTarget, { kind: 'aws' }>,
  outputsOf: Outputs,
  env: NodeJS.ProcessEnv,
): Promise<ReportQueue> {
  const outputs = await outputsOf(target.outputsFile, target.stack);
  const tableName = outputs.TableName;
  const region =
    outputs.Region ?? /execute-api\.([a-z0-9-]+)\.amazonaws/.exec(outputs.ManagementApiUrl ?? '')?.[1];
  if (tableName === undefined)
    throw new Error(`${target.outputsFile} lacks TableName: is it Parley's stack?`);
  env.TABLE_NAME = tableName;
  if (region !== undefined) env.AWS_REGION ??= region;
  // The domain's info lines are for Lambda's logs; here stdout is the command's output (`--json` too).
  env.LOG_LEVEL ??= 'warn';
  return import('../functions/domain/report-queue.ts');
}

async function resolveLocal(
  target: Extract<ReportTarget, { kind: 'local' }>,
  request: Extract<ReportRequest, { command: 'resolve' }>,
): Promise<ResolveOutcome> {
  const answer = await localRequest(
    target,
    'POST',
    `/_local/reports/${encodeURIComponent(request.reportId)}/resolve`,
    { ...(request.note !== undefined && { note: request.note }), by: request.by },
    [404],
  );
  return answer === NOT_FOUND ? { outcome: 'not_found' } : (answer as ResolveOutcome);
}

const NOT_FOUND = Symbol('not found');

async function localRequest(
  target: Extract<ReportTarget, { kind: 'local' }>,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  notFound: readonly number[] = [],
): Promise<unknown> {
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: {
      ...(target.adminKey !== undefined && { Authorization: `Bearer ${target.adminKey}` }),
      ...(body !== undefined && { 'Content-Type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  }).catch((error: unknown) => {
    throw new Error(
      `cannot reach the local stack at ${target.url} (is \`npm start\` running?): ${String(error)}`,
    );
  });
  const text = await response.text();
  if (notFound.includes(response.status)) return NOT_FOUND;
  if (response.status !== 200) {
    throw new Error(`the local stack answered ${response.status}: ${text.slice(0, 200)}`);
  }
  return JSON.parse(text) as unknown;
}

// ---- what is printed ----

/** One line per report, newest first, in columns; `--json` prints the list with every copied message. */
export function formatReports(
  list: ReportList,
  request: Extract<ReportRequest, { command: 'reports' }>,
): string {
  if (request.json) return JSON.stringify(list.reports, null, 2);
  const { status, limit } = request;
  if (list.reports.length === 0) return `no ${status} reports`;
  const resolved = status === 'resolved';
  const header = [
    'REPORTED AT',
    'REPORT',
    'REASON',
    'REPORTER',
    'CONVERSATION',
    'REPORTED',
    ...(resolved ? ['RESOLVED AT', 'RESOLVED BY', 'RESOLUTION'] : []),
    'NOTE',
  ];
  const rows = list.reports.map((report) => [
    report.reportedAt,
    report.reportId,
    report.reason,
    report.reporterId,
    report.conversationId,
    reported(report),
    ...(resolved
      ? [
          report.resolvedAt ?? '-',
          report.resolvedBy ?? '-',
          report.resolutionNote === undefined ? '-' : quoted(report.resolutionNote, 40),
        ]
      : []),
    report.note === undefined ? '-' : quoted(report.note, 60),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  const count = `${list.reports.length} ${status} report${list.reports.length === 1 ? '' : 's'}`;
  const more = list.more ? ` (--limit ${limit} reached: there are more)` : '';
  return [line(header), ...rows.map(line), `${count}${more}; --json shows the copied messages`].join('\n');
}

/** What a report is about: its message (the copy's sender and the start of its text), or the conversation. */
function reported(report: ReportView): string {
  if (report.seq === undefined) {
    return `conversation, ${report.messageCount} message${report.messageCount === 1 ? '' : 's'} copied`;
  }
  const copy: MessageCopy | undefined = report.messages.find((message) => message.seq === report.seq);
  if (copy === undefined) return `seq ${report.seq}`;
  const text = copy.deleted === true ? '(deleted)' : quoted(copy.content, 40);
  return `seq ${report.seq}, ${copy.senderId}: ${text}`;
}

/** JSON-quoted (so newlines and control characters stay on one line), shortened to `max` characters. */
function quoted(text: string, max: number): string {
  const characters = Array.from(text);
  return JSON.stringify(characters.length > max ? `${characters.slice(0, max - 1).join('')}…` : text);
}

export function formatResolution(
  reportId: string,
  result: ResolveOutcome,
  where: string | undefined,
): string {
  const on = where === undefined ? '' : ` (${where})`;
  if (result.outcome === 'not_found') return `resolve ${reportId}: no such report${on}`;
  const { report } = result;
  const resolution = `${report.resolvedAt ?? '?'} by ${report.resolvedBy ?? '?'}`;
  return result.outcome === 'resolved'
    ? `resolve ${reportId}: resolved at ${resolution}${on}`
    : `resolve ${reportId}: already resolved at ${resolution}, left as it was${on}`;
}

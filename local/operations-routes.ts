/**
 * protocol.md "Operations" over HTTP, in the local stack only: the same domain functions an operator's
 * command line runs against a deployed stack (functions/domain/operations.ts), so a mobile developer can
 * deactivate a test user and watch their app react. Each answers 204; an id that could not be a user
 * id or a `jti` is 400. Loaded on first use, after the handlers' environment points at this stack.
 *
 * (1.2) The report queue, the same way (functions/domain/report-queue.ts), as `npm run admin -- reports
 * --local` and `resolve … --local` use it:
 * - `GET /_local/reports?status=open|resolved&limit=N` (defaults `open`, 100): 200
 *   `{ reports: [...with their copied messages], more }`, newest first;
 * - `POST /_local/reports/{reportId}/resolve`, optional JSON body `{ "note": "…", "by": "…" }`: 200
 *   `{ outcome: "resolved" | "already_resolved", report }`, 404 for a report that does not exist.
 * A malformed status, limit, id, body or note is 400.
 */
import { REPORT_STATUSES, type ReportStatus } from '../definitions/reports.ts';
import { ParleyError } from '../functions/domain/errors.ts';
import { isUserId } from '../functions/domain/identifiers.ts';
import { json, type LocalResponse, type LocalRoutes, noContent } from './http/local-routes.ts';

type Operations = typeof import('../functions/domain/operations.ts');
let operations: Promise<Operations> | undefined;
const load = (): Promise<Operations> => {
  operations ??= import('../functions/domain/operations.ts');
  return operations;
};

type ReportQueue = typeof import('../functions/domain/report-queue.ts');
let reportQueue: Promise<ReportQueue> | undefined;
const loadReportQueue = (): Promise<ReportQueue> => {
  reportQueue ??= import('../functions/domain/report-queue.ts');
  return reportQueue;
};

/** Who asked, for the operation's log line. */
const BY = 'local-http';
const MAX_JTI_CHARS = 256;
const DEFAULT_REPORT_LIST = 100;
/** Who resolved a report, as the admin tool names it (`--by`): a short line of text. */
const MAX_BY_CHARS = 200;

export function addOperationsRoutes(routes: LocalRoutes): void {
  const onUser =
    (run: (ops: Operations, userId: string) => Promise<unknown>) =>
    async ({ params }: { params: Readonly<Record<string, string>> }) => {
      const userId = params.userId ?? '';
      if (!isUserId(userId)) return json(400, { message: `not a user id: ${JSON.stringify(userId)}` });
      await run(await load(), userId);
      return noContent;
    };
  routes
    .add(
      'POST',
      '/_local/users/{userId}/deactivate',
      onUser((ops, userId) => ops.deactivateUser(userId, BY)),
    )
    .add(
      'POST',
      '/_local/users/{userId}/reactivate',
      onUser((ops, userId) => ops.reactivateUser(userId, BY)),
    )
    .add(
      'POST',
      '/_local/users/{userId}/revoke',
      onUser((ops, userId) => ops.revokeSessions(userId, BY)),
    )
    .add('POST', '/_local/tokens/{jti}/revoke', async ({ params }) => {
      const jti = params.jti ?? '';
      if (jti === '' || jti.length > MAX_JTI_CHARS) return json(400, { message: 'not a jti' });
      await (await load()).revokeToken(jti, BY);
      return noContent;
    })
    .add('GET', '/_local/reports', async ({ query }) => {
      const status = query.get('status') ?? 'open';
      if (!(REPORT_STATUSES as readonly string[]).includes(status)) {
        return json(400, { message: `status must be one of ${REPORT_STATUSES.join(', ')}` });
      }
      const limitText = query.get('limit');
      const limit =
        limitText === null ? DEFAULT_REPORT_LIST : /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN;
      return refusedAs400(async () =>
        json(200, await (await loadReportQueue()).listReports(status as ReportStatus, limit)),
      );
    })
    .add('POST', '/_local/reports/{reportId}/resolve', async ({ params, body }) => {
      const request = resolutionOf(body);
      if (typeof request === 'string') return json(400, { message: request });
      return refusedAs400(async () => {
        const queue = await loadReportQueue();
        const result = await queue.resolveReport(params.reportId ?? '', request.by ?? BY, {
          note: request.note,
        });
        return result.outcome === 'not_found'
          ? json(404, { message: `no report ${params.reportId}` })
          : json(200, result);
      });
    });
}

/** A refusal of the domain's (a malformed limit, id or note) answers 400 with its message. */
async function refusedAs400(run: () => Promise<LocalResponse>): Promise<LocalResponse> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ParleyError && error.code !== 'internal')
      return json(400, { message: error.message });
    throw error;
  }
}

function resolutionOf(body: Buffer): { note?: string; by?: string } | string {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the body is not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body is not an object';
  const { note, by } = value as Record<string, unknown>;
  if (note !== undefined && typeof note !== 'string') return 'note must be a string';
  if (by !== undefined && (typeof by !== 'string' || by.trim() === '' || by.length > MAX_BY_CHARS)) {
    return `by must be 1-${MAX_BY_CHARS} characters`;
  }
  return { ...(note !== undefined && { note }), ...(by !== undefined && { by: by.trim() }) };
}

/**
 * Why a connection was refused. The client only ever sees API Gateway's uniform 401 (403 for a
 * deactivated user); the reason, a finer `detail` and, once the token has proved it, the user id go to
 * the logs, and the reason to the ConnectionsRefused metric. The reasons are the metric's dimension
 * values, defined with it in definitions/metrics.ts.
 */
import type { RefusalReason } from '../../definitions/metrics.ts';

export type { RefusalReason };

/** The reasons answered with 401: all but `deactivated` (a Deny policy, 403). */
export type UnauthorizedReason = Exclude<RefusalReason, 'deactivated'>;

export class Refusal extends Error {
  override readonly name = 'Refusal';
  readonly reason: UnauthorizedReason;
  readonly userId: string | undefined;
  /** What exactly was wrong, for the logs: `bad_jti`, `sessions_revoked`, jose's error code, ... */
  readonly detail: string | undefined;
  constructor(reason: UnauthorizedReason, options: { userId?: string; detail?: string } = {}) {
    super(options.detail === undefined ? reason : `${reason} (${options.detail})`);
    this.reason = reason;
    this.userId = options.userId;
    this.detail = options.detail;
  }
}

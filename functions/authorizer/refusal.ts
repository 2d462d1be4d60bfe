/**
 * Why a connection was refused with a 401. The client only ever sees API Gateway's uniform 401; the
 * reason, and the user id once the token has proved it, go to the logs.
 */
export type RefusalReason =
  | 'missing_token'
  | 'oversized_token'
  | 'invalid_token'
  | 'bad_subject'
  | 'bad_device_id'
  | 'bad_jti'
  | 'token_revoked'
  | 'sessions_revoked';

export class Refusal extends Error {
  override readonly name = 'Refusal';
  readonly reason: RefusalReason;
  readonly userId: string | undefined;
  constructor(reason: RefusalReason, userId?: string) {
    super(reason);
    this.reason = reason;
    this.userId = userId;
  }
}

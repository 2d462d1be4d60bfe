/**
 * The server API of integration.md: how the app's backend calls Parley over HTTPS, signed with SigV4.
 * Described once: the handler (functions/server-api/), the CDK stack (an HTTP API with IAM
 * authorization), the local stack (the same paths on its port, signatures checked against the local
 * credentials) and the typed client (`server/`, `@parley/server`) all read it from here.
 */

/** The Lambda handler module (functions/server-api/handler.ts) and the paths' common prefix. */
export const SERVER_API = {
  handler: 'server-api',
  basePath: '/v1',
  /** What the backend signs for (integration.md): API Gateway's service name, in AWS and locally. */
  signingService: 'execute-api',
  /** The region the local stack's signatures name. */
  localRegion: 'local',
  /** Writes take it: a retry with the same key answers what the first answered. */
  idempotencyHeader: 'Idempotency-Key',
  /** A key is 1 to 128 printable ASCII characters (a UUID fits). */
  idempotencyKeyPattern: /^[\x21-\x7e]{1,128}$/,
  /** How long an answer is kept for its key: a day of retries, then the key may be used again. */
  idempotencyTtlSeconds: 24 * 60 * 60,
  /** A request body over this is refused (413 is not in the contract: 400 `too_large`). */
  maxBodyBytes: 64 * 1024,
} as const;

/**
 * The local stack's credentials (integration.md): a backend signs with these against `npm start`, the
 * environment variables override them, and the banner prints them.
 */
export const LOCAL_SERVER_CREDENTIALS = {
  accessKeyId: 'PARLEYLOCALKEY',
  secretAccessKey: 'parley-local-secret-access-key',
  env: {
    accessKeyId: 'PARLEY_LOCAL_ACCESS_KEY_ID',
    secretAccessKey: 'PARLEY_LOCAL_SECRET_ACCESS_KEY',
  },
} as const;

/**
 * A signature dated further than this from the server's clock is refused (403), as AWS refuses a
 * request whose `X-Amz-Date` is more than 5 minutes off: a captured request cannot be replayed later.
 */
export const MAX_SIGNATURE_SKEW_MS = 5 * 60_000;

/** The status codes of the contract, and the `code` each error answer carries. */
export const SERVER_API_ERRORS = {
  bad_request: 400,
  too_large: 400,
  /** The send hook refused the content (integration.md). */
  blocked_content: 400,
  forbidden: 403,
  /** The send hook refused for want of credits. */
  payment_required: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  internal: 500,
} as const;
export type ServerApiErrorCode = keyof typeof SERVER_API_ERRORS;

/** An error answer's body (integration.md): `{ code, message }`. */
export interface ServerApiError {
  readonly code: ServerApiErrorCode;
  readonly message: string;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * Every operation of the contract's table: its method and path (`{name}` is one URL-encoded segment),
 * and whether it writes (then it takes an `Idempotency-Key`). `built: false` marks those this version
 * does not answer yet: they are 404 `not_found`, like a path that does not exist.
 */
export const SERVER_API_OPERATIONS = [
  { name: 'createConversation', method: 'POST', path: '/v1/conversations', write: true, built: true },
  { name: 'deleteConversation', method: 'DELETE', path: '/v1/conversations/{id}', write: true, built: false },
  { name: 'addMember', method: 'POST', path: '/v1/conversations/{id}/members', write: true, built: false },
  {
    name: 'removeMember',
    method: 'DELETE',
    path: '/v1/conversations/{id}/members/{userId}',
    write: true,
    built: false,
  },
  { name: 'sendMessage', method: 'POST', path: '/v1/conversations/{id}/messages', write: true, built: true },
  { name: 'listMessages', method: 'GET', path: '/v1/conversations/{id}/messages', write: false, built: true },
  {
    name: 'deleteMessage',
    method: 'DELETE',
    path: '/v1/conversations/{id}/messages/{seq}',
    write: true,
    built: false,
  },
  { name: 'listReports', method: 'GET', path: '/v1/reports', write: false, built: true },
  { name: 'resolveReport', method: 'POST', path: '/v1/reports/{id}/resolve', write: true, built: true },
  { name: 'block', method: 'PUT', path: '/v1/users/{id}/blocks/{otherId}', write: true, built: true },
  { name: 'unblock', method: 'DELETE', path: '/v1/users/{id}/blocks/{otherId}', write: true, built: true },
  { name: 'deactivate', method: 'POST', path: '/v1/users/{id}/deactivate', write: true, built: true },
  { name: 'reactivate', method: 'POST', path: '/v1/users/{id}/reactivate', write: true, built: true },
  { name: 'revoke', method: 'POST', path: '/v1/users/{id}/revoke', write: true, built: true },
  { name: 'eraseUser', method: 'DELETE', path: '/v1/users/{id}', write: true, built: false },
  { name: 'exportUser', method: 'GET', path: '/v1/users/{id}/export', write: false, built: false },
] as const satisfies readonly {
  name: string;
  method: HttpMethod;
  path: string;
  write: boolean;
  built: boolean;
}[];

export type ServerApiOperation = (typeof SERVER_API_OPERATIONS)[number];
export type ServerApiOperationName = ServerApiOperation['name'];

/** `senderId` of a message the backend sends as a notice (integration.md): never a person. */
export const SYSTEM_SENDER = 'system';

/**
 * What the package knows of the server API (integration.md): the operations it calls, how requests are
 * signed and the local stack's credentials. A published package cannot import the repository's
 * definitions/server-api.ts, so these are copies; test/unit/server/contract.test.ts holds them equal.
 */

/** API Gateway's signing name: what the backend signs for, in AWS and against the local stack. */
export const SIGNING_SERVICE = 'execute-api';

/** The region the local stack's signatures name. */
export const LOCAL_REGION = 'local';

/** Where `npm start` answers by default. */
export const LOCAL_URL = 'http://127.0.0.1:3001';

/** Writes take it: a retry with the same key answers what the first answered. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** A key is 1 to 128 printable ASCII characters (a UUID fits). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** The local stack's credentials; the environment variables override them, as they do the stack's. */
export const LOCAL_CREDENTIALS = {
  accessKeyId: 'PARLEYLOCALKEY',
  secretAccessKey: 'parley-local-secret-access-key',
  env: {
    accessKeyId: 'PARLEY_LOCAL_ACCESS_KEY_ID',
    secretAccessKey: 'PARLEY_LOCAL_SECRET_ACCESS_KEY',
  },
} as const;

/** `senderId` of a message the backend sends as a notice: shown as such, never unread from a person. */
export const SYSTEM_SENDER = 'system';

/**
 * The operations this version of the server answers, each one method of ParleyServer. `{name}` is one
 * URL-encoded path segment. The others of the contract (deleteConversation, addMember, removeMember,
 * deleteMessage, eraseUser, exportUser) are not served yet, so the package has no method for them.
 */
export const OPERATIONS = {
  createConversation: { method: 'POST', path: '/v1/conversations', write: true },
  sendMessage: { method: 'POST', path: '/v1/conversations/{id}/messages', write: true },
  listMessages: { method: 'GET', path: '/v1/conversations/{id}/messages', write: false },
  listReports: { method: 'GET', path: '/v1/reports', write: false },
  resolveReport: { method: 'POST', path: '/v1/reports/{id}/resolve', write: true },
  block: { method: 'PUT', path: '/v1/users/{id}/blocks/{otherId}', write: true },
  unblock: { method: 'DELETE', path: '/v1/users/{id}/blocks/{otherId}', write: true },
  deactivate: { method: 'POST', path: '/v1/users/{id}/deactivate', write: true },
  reactivate: { method: 'POST', path: '/v1/users/{id}/reactivate', write: true },
  revoke: { method: 'POST', path: '/v1/users/{id}/revoke', write: true },
} as const satisfies Record<
  string,
  { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: `/v1/${string}`; write: boolean }
>;

export type OperationName = keyof typeof OPERATIONS;

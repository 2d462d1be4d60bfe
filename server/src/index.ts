/**
 * `@parley/server`: a typed client of Parley's server API for the app's backend (Node.js 22+), signed
 * with SigV4. See server/README.md.
 */
export { IDEMPOTENCY_HEADER, LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_URL, SYSTEM_SENDER } from './contract.ts';
export { ParleyServerError, type ParleyServerErrorCode, type ParleyServerErrorInit } from './errors.ts';
export { RETRY_DEFAULTS, type RetryOptions } from './retry.ts';
export {
  DEFAULT_TIMEOUT_MS,
  type LocalServerOptions,
  ParleyServer,
  type ParleyServerOptions,
  type ReadOptions,
  type ServerCredentialProvider,
  type ServerCredentials,
  type WriteOptions,
} from './server.ts';
export type * from './types.ts';

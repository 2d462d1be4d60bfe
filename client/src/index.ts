/**
 * `@parley/client`: Parley's client SDK for browsers, React Native / Expo and Node.js 22+, on the
 * platform's standard WebSocket. See client/README.md.
 */
export type { BackoffOptions } from './backoff.ts';
export {
  ParleyClient,
  type ParleyClientEvents,
  type ParleyClientOptions,
  type Presence,
  type PresenceUnknown,
  type ReportInput,
  type SendFailedEvent,
  type SendOptions,
  type SentEvent,
  type TypingChange,
  type UploadFetch,
  type UploadOptions,
} from './client.ts';
export type { ConnectionState, StateChange, TokenProvider } from './connection.ts';
export {
  BlockedContentError,
  ClientClosedError,
  type CloseReason,
  ParleyError,
  PaymentRequiredError,
  UploadError,
} from './errors.ts';
export type { PendingMessage } from './outbox.ts';
export type * from './protocol.ts';
export type { TokenTransport, WebSocketConstructor, WebSocketLike } from './socket.ts';
export { type KeyValueStorage, memoryStorage } from './storage.ts';

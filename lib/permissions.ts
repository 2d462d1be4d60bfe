/**
 * What each Lambda may do, in one declarative table: the DynamoDB actions it sends (no Scan, no
 * wildcards), whether it queries the `unread` index, whether it posts to connections, and which SNS
 * calls it makes. The stack grants exactly this and sets environment variables from it (a function
 * that does not post to connections gets no callback URL). Keyed by handler module, and typed
 * against the route table, so a new route does not compile until its permissions are written here;
 * test/cdk/permissions-match-handlers.test.ts fails when a handler's AWS calls and this table differ.
 *
 * TransactWriteItems and TransactGetItems have no IAM action of their own: IAM checks the per-item
 * actions (PutItem, UpdateItem, DeleteItem, ConditionCheckItem, GetItem) of each item instead.
 */
import type { HandlerName } from '../definitions/handlers.ts';
import {
  CHANGES_INDEX,
  CONTACTS_INDEX,
  INBOX_INDEX,
  REPORTS_INDEX,
  UNREAD_INDEX,
} from '../definitions/table.ts';

export type DynamoAction =
  | 'BatchGetItem'
  | 'BatchWriteItem'
  | 'GetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'ConditionCheckItem';

/**
 * What a function does with the attachments bucket (lib/constructs/attachment-bucket.ts), all through
 * presigned requests (functions/shared/clients/s3.ts): `signUploads` signs PUTs under `uploads/`
 * (s3:PutObject there: a presigned URL carries its signer's permissions); `attachUploads` HEADs an
 * upload and copies it under `attachments/` (s3:GetObject on `uploads/`, s3:PutObject on
 * `attachments/`); `signDownloads` signs GETs under `attachments/` (s3:GetObject there);
 * `deleteAttachments` deletes a deleted message's objects under `attachments/` (s3:DeleteObject there).
 */
export type AttachmentAccess = 'signUploads' | 'attachUploads' | 'signDownloads' | 'deleteAttachments';

/** CreatePlatformEndpoint is scoped to the platform applications, the others to their endpoints. */
export type PushAction = 'CreatePlatformEndpoint' | 'SetEndpointAttributes' | 'DeleteEndpoint' | 'Publish';

export interface FunctionPermissions {
  readonly table: readonly DynamoAction[];
  /** Global secondary indexes the function queries (the table's key actions apply to them). */
  readonly indexes?: readonly string[];
  /** `execute-api:ManageConnections` on the stage, and `WS_CALLBACK_URL`. */
  readonly postToConnections?: boolean;
  /** SNS mobile push calls; any of them also gives the function the `PUSH_APP_ARN_*` variables. */
  readonly push?: readonly PushAction[];
  /**
   * `sns:Publish` on the delivery failure topic (which feeds the on-failure queue), and
   * `DELIVERY_FAILURE_TOPIC_ARN`.
   */
  readonly failureQueue?: boolean;
  /** Its requests to the attachments bucket; any of them also gives it `ATTACHMENTS_BUCKET`. */
  readonly attachments?: readonly AttachmentAccess[];
  /**
   * (1.2) Asks the send hook, when the deployment has one: `lambda:InvokeFunction` on that one function
   * and the `SEND_HOOK_*` variables (definitions/send-hook.ts). Without a hook, neither.
   */
  readonly sendHook?: boolean;
  /** (1.2) Applies the deployment's contact policy: `CONTACT_POLICY` (definitions/contact-policy.ts). */
  readonly contactPolicy?: boolean;
  /**
   * Publishes to the stack's event bus (definitions/events.ts): `events:PutEvents` on that bus only,
   * `EVENT_BUS_NAME`, and `EVENT_CONTENT` as the deployment sets it.
   */
  readonly events?: boolean;
}

export type FunctionName = HandlerName;

/**
 * Every frame route (functions/shared/ws-route.ts) may also UpdateItem its own connection item: a frame
 * whose token has expired asks delivery to close the connection (functions/domain/token-expiry.ts).
 * Every route of RATE_LIMITED_ACTIONS (definitions/rate-limits.ts) also UpdateItems the caller's rate
 * bucket, and the stack gives its function the configured limits (lib/parley-stack.ts).
 */
export const FUNCTION_PERMISSIONS = {
  // Reads the user's state and revoked `jti` items in one BatchGetItem.
  authorizer: { table: ['BatchGetItem'] },
  connect: { table: ['PutItem'] },
  disconnect: { table: ['DeleteItem'] },
  default: { table: [] },
  // Its commit's TransactWriteItems holds Puts only (message, send receipt; conversation and members
  // when a direct conversation starts). UpdateItem for the sender's rate bucket.
  // BatchGetItem of the upload items of its attachments, which it checks and copies (under
  // `attachments/*`, whatever the key below it), then claims: UpdateItem, or a TransactWriteItems of
  // UpdateItems for several.
  'send-message': {
    table: ['BatchGetItem', 'GetItem', 'Query', 'PutItem', 'UpdateItem'],
    attachments: ['attachUploads'],
    // With a send hook: a GetItem of the send receipt (and of its message) before asking it.
    sendHook: true,
    // A first message under `requests` starts a request.
    contactPolicy: true,
  },
  // PutItem of the upload item (owner, declared type and size), or UpdateItem of it for a retry when the
  // day's quota is full; UpdateItem of the caller's daily upload bytes (functions/adapters/upload-store.ts).
  // Signs the PUT.
  'request-upload': { table: ['PutItem', 'UpdateItem'], attachments: ['signUploads'] },
  // Typing is ephemeral: the handler delivers it itself (architecture.md), deleting gone connections.
  // UpdateItem for the typer's rate bucket.
  typing: {
    table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'],
    postToConnections: true,
  },
  // A group member whose item a failed creation never wrote gets it (membership.ts): a PutItem with a
  // ConditionCheckItem of the group's members, in one transaction. The same in sync, leave and delivery.
  'mark-read': { table: ['GetItem', 'Query', 'UpdateItem', 'PutItem', 'ConditionCheckItem'] },
  // BatchGetItem for the members' states; its TransactWriteItems holds Puts only (conversation,
  // creation receipt), then per member a transaction of a conditional PutItem and a ConditionCheckItem
  // that the group still lists them (a late retry cannot bring back a leaver); GetItem and Query on a
  // retry (the committed conversation, the member items already there).
  // (1.2) Under `requests`, a BatchGetItem of the creator's direct member items: only accepted contacts.
  'create-conversation': {
    table: ['BatchGetItem', 'GetItem', 'Query', 'PutItem', 'UpdateItem', 'ConditionCheckItem'],
    contactPolicy: true,
  },
  'register-device': {
    table: ['PutItem', 'UpdateItem', 'DeleteItem'],
    push: ['CreatePlatformEndpoint', 'SetEndpointAttributes', 'DeleteEndpoint'],
  },
  'unregister-device': { table: ['UpdateItem', 'DeleteItem'], push: ['DeleteEndpoint'] },
  ping: { table: ['UpdateItem'] },
  // GetItem of the caller's member item (membership), Query of the conversation's messages, and (1.2,
  // `afterVersion`) of the `changes` index. The conversation list: the `inbox` index, and a Query of
  // each group's member items on the page (receipts). A group member item a failed creation left out is
  // put (PutItem in a transaction with a ConditionCheckItem).
  sync: {
    table: ['GetItem', 'Query', 'UpdateItem', 'PutItem', 'ConditionCheckItem'],
    indexes: [INBOX_INDEX, CHANGES_INDEX],
    // Download links of the attachments of the messages it returns.
    attachments: ['signDownloads'],
  },
  // GetItem of the conversation (membership; direct ones are cached). Every change is versioned
  // (functions/adapters/versioned-change.ts): a Query of the newest seq and a GetItem of the change
  // count, then one TransactWriteItems: UpdateItem of the count, ConditionCheckItem of the next seq,
  // the conditional UpdateItem of the message.
  // With a send hook, a GetItem of the message first: the hook is asked only about an edit that may be made.
  'edit-message': { table: ['GetItem', 'Query', 'UpdateItem', 'ConditionCheckItem'], sendHook: true },
  // The versioned mark of the tombstone, a GetItem of it back, then the removal of its reactions and
  // attachments list (UpdateItem); its attachments' objects are deleted from the bucket in between.
  'delete-message': {
    table: ['GetItem', 'Query', 'UpdateItem', 'ConditionCheckItem'],
    attachments: ['deleteAttachments'],
  },
  // Versioned ADD/DELETE on the reaction sets; an UpdateItem when an emoji's last reaction may have gone.
  react: { table: ['GetItem', 'Query', 'UpdateItem', 'ConditionCheckItem'] },
  // GetItem of the caller's member item and the conversation; a group leave is one TransactWriteItems
  // (UpdateItem of the conversation's members, DeleteItem of the member item); a direct one reads the
  // last seq (Query) and marks the member item hidden up to it (UpdateItem).
  'leave-conversation': {
    table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem', 'PutItem', 'ConditionCheckItem'],
  },
  // (1.2) One TransactWriteItems: UpdateItem of the blocker's state (the set) with a PutItem or DeleteItem
  // of the BLOCKEDBY item; then UpdateItem of the two direct member items.
  block: { table: ['UpdateItem', 'PutItem', 'DeleteItem'] },
  // (1.2) GetItem of the caller's member item (membership, and whether it is a request); one
  // TransactWriteItems of two UpdateItems (the two member items); UpdateItem of the rate bucket.
  'accept-request': { table: ['GetItem', 'UpdateItem'] },
  // GetItem of the caller's state item (its `blocks`); UpdateItem as every frame route (above).
  'list-blocks': { table: ['GetItem', 'UpdateItem'] },
  // (1.2) GetItem of the caller's own report (a retry) and member item (membership; a group member item
  // a failed creation left out is put: PutItem with a ConditionCheckItem); GetItem of the reported
  // message, or a Query of the newest ones; one TransactWriteItems of Puts (the report, its copies);
  // UpdateItem of the reporter's rate bucket. The operators list reports through the `reports` index with their own credentials, not this function.
  report: { table: ['GetItem', 'Query', 'PutItem', 'ConditionCheckItem', 'UpdateItem'] },
  delivery: {
    // PutItem for push receipts (a push at most once per message and device); UpdateItem for unread
    // bookkeeping, attempt counts and presence sets; DeleteItem for gone connections, dead devices, released receipts.
    // BatchGetItem for both users' presence items when consent is given (introduce-presence.ts).
    table: ['GetItem', 'Query', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
    // unread: the push badge; contacts: the entries that show a user's presence.
    indexes: [UNREAD_INDEX, CONTACTS_INDEX],
    postToConnections: true,
    // Publish, and DeleteEndpoint for a device whose token the platform rejects.
    push: ['Publish', 'DeleteEndpoint'],
    // What delivery gives up on, recorded by message identity.
    failureQueue: true,
    // Download links in the `message` frames.
    attachments: ['signDownloads'],
  },
  // The table's stream to the EventBridge bus (definitions/events.ts): everything it needs is in the
  // stream records, so it reads nothing from the table.
  events: { table: [], events: true },
  // The server API (integration.md, definitions/server-api.ts): the app's backend, signed with SigV4.
  // Conversations and members as create-conversation and leave-conversation write them (BatchGetItem of
  // the members' states, transactions of Puts, Updates, Deletes and ConditionChecks), messages as
  // send-message and delete-message do, blocks, deactivation and revocation as the operator's tools do,
  // and its idempotency records (PutItem, GetItem). Queries the `reports` index (the report queue) and
  // the `inbox` index (a user's conversations, for an unmatch, an erasure or an export).
  'server-api': {
    table: ['GetItem', 'Query', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
    indexes: [REPORTS_INDEX, INBOX_INDEX],
    // Deactivating or revoking a user closes their open connections.
    postToConnections: true,
    // Download links of the attachments in the message history it answers (its messages take none).
    attachments: ['signDownloads'],
    // The messages it sends go through the send hook, as a client's do.
    sendHook: true,
    // A direct conversation it creates follows the deployment's contact policy.
    contactPolicy: true,
  },
} as const satisfies Record<FunctionName, FunctionPermissions>;

/**
 * Events to the app's backend (integration.md, "Events to the backend"): every stored change a backend
 * may act on is published to the stack's own Amazon EventBridge bus, `source: "parley"`, with one of the
 * detail-types below. Described once here: the events function (functions/events/), the CDK stack
 * (lib/constructs/events-pipeline.ts) and the local stack (local/events/) read them from this module.
 *
 * Why a second consumer of the table's stream (its own Lambda and event source mapping) rather than
 * one more step of delivery: each mapping keeps its own position in every shard, its own retries and
 * its own failures. Delivery retries a record while a connection is still inside `$connect` or SNS
 * throttles; an event published from inside delivery would be published again on every such retry,
 * and an EventBridge outage would hold up messages to phones. Apart, neither waits for the other, and
 * each record's event is published once per attempt of the events consumer only. The cost is one more
 * read of the stream per shard (a DynamoDB stream serves two readers per shard at full speed).
 */
import type { StreamMappingDefinition } from './stream.ts';

/** Every event's `source`. */
export const EVENT_SOURCE = 'parley';

/** The contract's detail-types, in integration.md's order. */
export const EVENT_DETAIL_TYPES = [
  'message.created',
  'message.updated',
  'message.deleted',
  'conversation.created',
  'conversation.deleted',
  'member.joined',
  'member.left',
  'report.created',
  'user.blocked',
  'user.erased',
] as const;
export type EventDetailType = (typeof EVENT_DETAIL_TYPES)[number];

/**
 * Detail-types of the contract that no stored change makes yet, so none is published:
 * `conversation.deleted` and `user.erased` wait for the server API's deleteConversation and eraseUser
 * (not built); `member.joined` waits for addMember (not built). A group's members at its creation are
 * in `conversation.created`, and a member item is also put later when a failed creation is completed
 * (functions/domain/membership.ts), which is no join: member item INSERTs therefore make no event.
 * Whatever builds these operations marks its writes so that the events consumer can tell them apart
 * (`changedBy`, functions/adapters/changed-by.ts), and maps them in functions/events/records.ts.
 */
export const UNMAPPED_DETAIL_TYPES = [
  'conversation.deleted',
  'member.joined',
  'user.erased',
] as const satisfies readonly EventDetailType[];

/**
 * Whether events carry message content (the text of `message.created` and `message.updated`, a
 * report's note): off unless the operator switches it on. CDK context `eventContent` ("true" or
 * "false"), `npm start -- --event-content`, and the function's environment `EVENT_CONTENT`.
 */
export const EVENT_CONTENT_SETTING = {
  env: 'EVENT_CONTENT',
  context: 'eventContent',
  flag: 'event-content',
  default: false,
} as const;

/** The events function's environment: the bus it publishes to. */
export const EVENT_BUS_ENV = 'EVENT_BUS_NAME';

/** "true" or "false" (any case, surrounding spaces ignored); undefined for anything else. */
export function parseEventContent(raw: string): boolean | undefined {
  const value = raw.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

/**
 * EventBridge's PutEvents limits: at most 10 entries a call, and entries whose sizes add up to less
 * than 256 KB (Time counts 14 bytes, Source, DetailType and Detail their UTF-8 bytes).
 */
export const PUT_EVENTS_LIMITS = { entries: 10, bytes: 256 * 1024 } as const;

/**
 * The events consumer's event source mapping (lib/constructs/events-pipeline.ts) and its local twin
 * (local/stack.ts). Immediate like delivery (no batching window): a backend acting on a report or a
 * message should not wait for a batch to fill. Retried far longer than delivery (an event is not stale
 * after an hour, as a push is): records up to the stream's own 24-hour retention, then the on-failure
 * queue. The handler retries failed entries itself first (functions/events/handler.ts).
 */
export const EVENTS_STREAM = {
  handler: 'events',
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  startingPosition: 'LATEST',
  reportBatchItemFailures: true,
  bisectBatchOnError: true,
  retryAttempts: 20,
  maxRecordAgeSeconds: 24 * 3600,
  // Events have no order to keep across conversations (EventBridge delivers in no set order anyway):
  // two lanes per shard keep a burst moving without many concurrent PutEvents callers.
  parallelizationFactor: 2,
  // Only records that make an event invoke the function (functions/events/records.ts decides the rest).
  filterPatterns: [
    // message.created, conversation.created, report.created, user.blocked.
    {
      eventName: ['INSERT'],
      dynamodb: { NewImage: { type: { S: ['message', 'conversation', 'report', 'blockedBy'] } } },
    },
    // message.updated or message.deleted (only a change that moved the message's version is one).
    { eventName: ['MODIFY'], dynamodb: { NewImage: { type: { S: ['message'] } } } },
    // member.left of a direct conversation: the leaver's member item hidden by leaveConversation.
    {
      eventName: ['MODIFY'],
      dynamodb: { NewImage: { type: { S: ['member'] }, changedBy: { S: ['leave'] } } },
    },
    // member.left of a group (its member item removed by leaveConversation); user.blocked with
    // `blocked: false` (an unblock removes the BLOCKEDBY item).
    { eventName: ['REMOVE'], dynamodb: { OldImage: { type: { S: ['member', 'blockedBy'] } } } },
  ],
} as const satisfies StreamMappingDefinition;

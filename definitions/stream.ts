/**
 * How the table's stream drives one consumer Lambda through its own event source mapping: delivery
 * (below) and the events publisher (definitions/events.ts). The CDK event source mapping and the local
 * stream poller are both configured from such an object.
 */
export interface StreamMappingDefinition {
  /** The handler's name (definitions/handlers.ts has its module), exporting `handler`. */
  readonly handler: string;
  readonly batchSize: number;
  /** Seconds to gather a batch; 0 keeps local and deployed consumers immediate. */
  readonly maxBatchingWindowSeconds: number;
  readonly startingPosition: 'LATEST' | 'TRIM_HORIZON';
  readonly reportBatchItemFailures: true;
  readonly bisectBatchOnError: boolean;
  /**
   * Retries of a failing record before the event source mapping sends a stream pointer to the
   * on-failure queue. Delivery's is above its `deliveryAttempts`, so that this only happens when the
   * handler itself keeps crashing or timing out: otherwise the handler gives up first and records the
   * message.
   */
  readonly retryAttempts: number;
  /** Records older than this go to the on-failure queue instead of being retried. */
  readonly maxRecordAgeSeconds: number;
  readonly parallelizationFactor: number;
  /** Lambda event filter patterns (OR-ed): only records that match one invoke the consumer. */
  readonly filterPatterns: readonly Record<string, unknown>[];
}

/** How the table's stream drives the delivery Lambda (lib/constructs/delivery-pipeline.ts, local/stack.ts). */
export interface StreamConsumerDefinition extends StreamMappingDefinition {
  /**
   * Failed attempts after which the delivery handler stops retrying a record and puts what identifies
   * its message (conversation, seq, recipients not reached) in the on-failure queue.
   */
  readonly deliveryAttempts: number;
  /**
   * Lambda event filter patterns (OR-ed). Only these records invoke the delivery Lambda: committed
   * messages and their changes, new conversations (groups from createConversation, direct ones from their first
   * message), groups a member left, member items removed or hidden by a leave (`left`), message requests
   * accepted (1.2), member items whose read cursor was moved by `markRead` (the
   * delivery Lambda's own unread bookkeeping on member items sets `changedBy: 'delivery'` and is filtered out), and
   * connection items put or removed (presence).
   */
  readonly filterPatterns: readonly Record<string, unknown>[];
}

export const DELIVERY_STREAM = {
  handler: 'delivery',
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  startingPosition: 'LATEST',
  reportBatchItemFailures: true,
  bisectBatchOnError: true,
  retryAttempts: 10,
  deliveryAttempts: 5,
  maxRecordAgeSeconds: 3600,
  // Per-shard parallelism; records of one partition key (one conversation) stay ordered.
  parallelizationFactor: 4,
  filterPatterns: [
    { eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['message', 'conversation'] } } } },
    // A read cursor moved by markRead; or (`leave`) a direct conversation hidden by leaveConversation:
    // the leaver's connections get `left`; or (`accept`, 1.2) a message request accepted: the two
    // users learn each other's presence.
    {
      eventName: ['MODIFY'],
      dynamodb: { NewImage: { type: { S: ['member'] }, changedBy: { S: ['read', 'leave', 'accept'] } } },
    },
    // A group member item removed (leaveConversation): the leaver's connections get `left`.
    { eventName: ['REMOVE'], dynamodb: { OldImage: { type: { S: ['member'] } } } },
    // A group member left (leaveConversation): the remaining members get the members as they are now.
    // A direct conversation left marks only the leaver's member item (`changedBy: 'leave'`, above).
    {
      eventName: ['MODIFY'],
      dynamodb: { NewImage: { type: { S: ['conversation'] }, changedBy: { S: ['leave'] } } },
    },
    // An edit, a deletion or a reaction (nothing else modifies a message item): `messageUpdated`.
    { eventName: ['MODIFY'], dynamodb: { NewImage: { type: { S: ['message'] } } } },
    // Presence: a connection item appears ($connect) or goes, whatever removed it ($disconnect, a 410,
    // the per-user cap, TTL).
    { eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['connection'] } } } },
    { eventName: ['REMOVE'], dynamodb: { OldImage: { type: { S: ['connection'] } } } },
    // A frame route found the connection's token expired: delivery closes it.
    {
      eventName: ['MODIFY'],
      dynamodb: { NewImage: { type: { S: ['connection'] }, closeRequested: { S: ['token_expired'] } } },
    },
  ],
} as const satisfies StreamConsumerDefinition;

/**
 * `POST /_local/delivery-failures/redrive` (JSON body, both optional: `{"limit": 100, "dryRun": false}`):
 * redelivers what the local failure queue holds with the same code as `npm run admin -- redrive` against a
 * deployed stack (admin/redrive.ts), through the stack's own delivery handler, and answers
 * 200 with one result per entry. An entry leaves the queue only once its redelivery succeeded. One
 * redrive runs at a time. The table is read with the handlers' client, loaded on first use (after the
 * handlers' environment points at this stack).
 */
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { deliveryOutcome, type RedriveQueue, type RedriveResult, redrive } from '../../admin/redrive.ts';
import { DELIVERY_STREAM } from '../../definitions/stream.ts';
import { type ItemReader, itemReader } from '../../functions/adapters/stored-items.ts';
import { json, type LocalRoutes } from '../http/local-routes.ts';
import { readStreamRange } from '../stream/stream-range.ts';
import type { LocalFailureQueue } from './failure-queue.ts';

export interface RedriveRouteOptions {
  readonly queue: LocalFailureQueue;
  /** The stack's client for DynamoDB Local's stream. */
  readonly streams: DynamoDBStreamsClient;
  readonly region: string;
  /** The stack's delivery handler, as the stream poller invokes it. */
  readonly deliver: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;
}

export const DEFAULT_REDRIVE_LIMIT = 100;
const MAX_REDRIVE_LIMIT = 10_000;

let reader: Promise<ItemReader> | undefined;
const tableReader = (): Promise<ItemReader> => {
  reader ??= import('../../functions/shared/clients/dynamodb.ts').then(({ dynamo, TABLE_NAME }) =>
    itemReader(dynamo, TABLE_NAME),
  );
  return reader;
};

export function addRedriveRoute(routes: LocalRoutes, options: RedriveRouteOptions): void {
  let last: Promise<unknown> = Promise.resolve();
  routes.add('POST', '/_local/delivery-failures/redrive', async ({ body }) => {
    const request = parseRequest(body);
    if (typeof request === 'string') return json(400, { message: request });
    const run = last.then(() => redriveLocal(options, request));
    last = run.catch(() => undefined);
    return json(200, await run);
  });
}

async function redriveLocal(
  options: RedriveRouteOptions,
  request: { limit: number; dryRun: boolean },
): Promise<RedriveResult[]> {
  const readItem = await tableReader();
  return redrive({
    queue: localQueue(options.queue),
    sources: {
      readItem,
      readStream: (batch) =>
        readStreamRange(options.streams, batch, {
          region: options.region,
          filterPatterns: DELIVERY_STREAM.filterPatterns,
        }),
    },
    invoke: async (event) => deliveryOutcome(await options.deliver(event), event),
    limit: request.limit,
    dryRun: request.dryRun,
  });
}

/** The queue seen by one run: each entry handed out once, in the order queued. */
function localQueue(queue: LocalFailureQueue): RedriveQueue {
  const handed = new Set<string>();
  return {
    async receive(max) {
      const page = queue
        .entries()
        .filter((entry) => !handed.has(entry.id))
        .slice(0, max);
      for (const entry of page) handed.add(entry.id);
      return page;
    },
    async remove(entry) {
      queue.remove(entry.id);
    },
    async release() {
      // Nothing is hidden while a local run reads it.
    },
  };
}

function parseRequest(body: Buffer): { limit: number; dryRun: boolean } | string {
  let value: unknown = {};
  if (body.length > 0) {
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      return 'the body is not JSON';
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the body is not an object';
  const { limit = DEFAULT_REDRIVE_LIMIT, dryRun = false } = value as Record<string, unknown>;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_REDRIVE_LIMIT) {
    return `limit must be a whole number from 1 to ${MAX_REDRIVE_LIMIT}`;
  }
  if (typeof dryRun !== 'boolean') return 'dryRun must be true or false';
  return { limit, dryRun };
}

/**
 * The `$connect` window, through the local API Gateway with the real handlers: API Gateway stores
 * nothing itself, but answers `PostToConnection` with 410 until `$connect` returns, while the
 * connection item is already in the table. A message delivered in that window must neither delete the
 * item (the socket would receive nothing for hours) nor be lost: it reaches the socket once it opens.
 * The test holds bob's `$connect` open until delivery has met his connection, whatever the timing.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/dynamodb-local.ts';
import type { LocalHandlers, RouteHandler } from '../../local/handlers.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { setLocalLogSink } from '../../local/log.ts';
import type { LocalStack } from '../../local/stack.ts';
import { startInProcessStack, stopInProcessStack } from './support/in-process-stack.ts';
import { localToken } from './support/tokens.ts';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** While set, the next `$connect` stores its connection, then waits for `release` before answering. */
let hold: { stored: Deferred<void>; release: Deferred<void> } | undefined;
/** Resolves with the result of the first delivery of a message after `watchDelivery` is set (not presence). */
let watchDelivery: Deferred<DynamoDBBatchResponse | undefined> | undefined;

function wrap(handlers: LocalHandlers): LocalHandlers {
  const routes = new Map(handlers.routes);
  const connectHandler = handlers.routes.get('$connect') as RouteHandler;
  routes.set('$connect', async (event, context) => {
    const answer = await connectHandler(event, context);
    const held = hold;
    hold = undefined;
    if (held !== undefined) {
      held.stored.resolve();
      await held.release.promise;
    }
    return answer;
  });
  return {
    ...handlers,
    routes,
    delivery: async (event, context) => {
      const result = await handlers.delivery(event, context);
      if (event.Records.some((record) => record.dynamodb?.NewImage?.type?.S === 'message')) {
        watchDelivery?.resolve(result);
        watchDelivery = undefined;
      }
      return result;
    },
  };
}

let stack: LocalStack;
let table: DynamoDBDocumentClient;

beforeAll(async () => {
  process.env.LOG_LEVEL = 'error';
  // bob's $connect is held open for as long as the test needs, far past the 5 s a real one can take.
  process.env.CONNECT_WINDOW_MS = '600000';
  // The stack's own log lines stay out of the test output.
  setLocalLogSink(() => undefined);
  stack = await startInProcessStack(wrap);
  table = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamoDbEndpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }),
  );
});

afterAll(async () => {
  table?.destroy();
  await stopInProcessStack(stack);
});

async function connectionItems(userId: string): Promise<unknown[]> {
  const { Items = [] } = await table.send(
    new QueryCommand({
      TableName: stack.tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :conn)',
      ExpressionAttributeValues: { ':pk': `USER#${userId}`, ':conn': 'CONN#' },
      ConsistentRead: true,
    }),
  );
  return Items;
}

describe('a message delivered while the recipient is inside $connect', () => {
  it('keeps the connection item and reaches the socket once it opens', async () => {
    // GIVEN alice online, and bob's socket half-way: his $connect stored the item but has not answered
    const alice = await connect(`${stack.url}/?token=${await localToken('alice')}`);
    hold = { stored: deferred(), release: deferred() };
    const { stored, release } = hold;
    const bobConnecting: Promise<Client> = connect(`${stack.url}/?token=${await localToken('bob')}`);
    await stored.promise;

    // WHEN alice writes to him and delivery meets his connection in that window
    watchDelivery = deferred();
    const delivered = watchDelivery.promise;
    alice.send({
      action: 'sendMessage',
      clientMessageId: 'in-the-window',
      to: 'bob',
      content: 'are you there?',
    });
    expect(await alice.until((frame) => frame.type === 'ack')).toMatchObject({ seq: 1, duplicate: false });
    const firstAttempt = await delivered;

    // THEN that attempt asked for a retry instead of deleting bob's connection item
    expect(firstAttempt?.batchItemFailures).toHaveLength(1);
    expect(await connectionItems('bob')).toHaveLength(1);

    // AND once $connect answers, the retried record reaches bob's socket
    release.resolve();
    const bob = await bobConnecting;
    expect(await bob.until((frame) => frame.type === 'message')).toMatchObject({
      senderId: 'alice',
      seq: 1,
      content: 'are you there?',
    });
    expect(await connectionItems('bob')).toHaveLength(1);
    alice.socket.close();
    bob.socket.close();
    await Promise.all([alice.closed, bob.closed]);
  });
});

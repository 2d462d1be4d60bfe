/**
 * What the route tests share: the mocked DynamoDB and management API clients (one pair per test file,
 * vitest isolates modules per file), the items the routes read, the errors DynamoDB answers with, and
 * readers for what the handlers sent.
 */

import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  type AttributeValue,
  type CancellationReason,
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'vitest';
import { ERROR_CODES } from '../../../definitions/error-codes.ts';
import type { RouteResponse } from '../../../functions/shared/websocket-event.ts';

export const ddb = mockClient(DynamoDBDocumentClient);
export const api = mockClient(ApiGatewayManagementApiClient);

export const TABLE = 'parley-test';
/** The connection of the fixture events (local/harness/events/message-event.json). */
export const CONNECTION_ID = 'CfQ3bfF3DoECJqQ=';
/** `requestTimeEpoch` of local/harness/events/message-event.json: when API Gateway received the frame. */
export const RECEIVED_AT_EPOCH = 1795429805123;

/** The error codes of protocol.md, and nothing else. */
export const PROTOCOL_ERROR_CODES = ERROR_CODES;

/** A rate bucket update is what asking costs, not something stored: the write checks leave it out. */
const isRateBucket = (input: { Key?: Record<string, unknown> }): boolean =>
  String(input.Key?.PK ?? '').startsWith('RATE#');
const storingUpdates = () =>
  ddb.commandCalls(UpdateCommand).filter((call) => !isRateBucket(call.args[0].input));

/** The sender's rate bucket takes the request (functions/adapters/rate-buckets.ts): an idle bucket. */
export function givenRateBucketsAdmit(): void {
  ddb.on(UpdateCommand).callsFake(() => ({ Attributes: { tat: Date.now() + 100 } }));
}

/**
 * The inputs of the UpdateItems sent to one item, in order: the checks of a route's own writes, apart
 * from its rate bucket's (sent first, to its own key).
 */
export const updatesOf = (key: { PK: string; SK: string }): Record<string, unknown>[] =>
  ddb.commandCalls(UpdateCommand, { Key: key }).map((call) => call.args[0].input as Record<string, unknown>);

/** The UpdateItem on `userId`'s bucket for `action`, as sentToDynamo() lists it. */
export const rateBucketUpdate = (userId: string, action: string): [string, unknown] => [
  'UpdateCommand',
  expect.objectContaining({ TableName: TABLE, Key: { PK: `RATE#${userId}`, SK: action } }),
];

/**
 * A read cursor moved without a `read` frame (protocol.md 1.2): to the last seq of a direct
 * conversation hidden (leaveConversation); as sentToDynamo() lists it.
 */
export const implicitRead = (conversationId: string, userId: string, seq: number): [string, unknown] => [
  'UpdateCommand',
  {
    TableName: TABLE,
    Key: { PK: `CONV#${conversationId}`, SK: `MEMBER#${userId}` },
    UpdateExpression: 'SET readSeq = :seq, readAt = :readAt, changedBy = :by REMOVE unreadOwner',
    ConditionExpression: 'attribute_exists(PK) AND readSeq < :seq AND lastSeq <= :seq',
    ExpressionAttributeValues: { ':seq': seq, ':readAt': expect.any(String), ':by': 'implicit-read' },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  },
];

/** How many storing write commands (of any kind) the DynamoDB mock received. */
export function writesSent(): number {
  return (
    ddb.commandCalls(PutCommand).length +
    storingUpdates().length +
    ddb.commandCalls(DeleteCommand).length +
    ddb.commandCalls(TransactWriteCommand).length +
    ddb.commandCalls(BatchWriteCommand).length
  );
}

export function expectNothingWritten(): void {
  expect(ddb).not.toHaveReceivedCommand(PutCommand);
  expect(storingUpdates()).toEqual([]);
  expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
  expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  expect(ddb).not.toHaveReceivedCommand(BatchWriteCommand);
}

/** Every command the DynamoDB mock received, in order, as `[command name, input]`. */
export function sentToDynamo(): [string, unknown][] {
  return ddb.calls().map((call) => {
    const command = call.args[0] as { constructor: { name: string }; input: unknown };
    return [command.constructor.name, command.input];
  });
}

/** The frame a two-way route answered with; fails when the response is not a 200 with a JSON body. */
export function frameOf(response: RouteResponse): Record<string, unknown> {
  expect(response.statusCode).toBe(200);
  expect(response.body).toBeTypeOf('string');
  return JSON.parse(response.body ?? 'null') as Record<string, unknown>;
}

/** The connections posted to and the frames they got, in call order. */
export function posted(): { connectionId: string | undefined; frame: unknown }[] {
  const decoder = new TextDecoder();
  return api.commandCalls(PostToConnectionCommand).map((call) => {
    const { ConnectionId, Data } = call.args[0].input;
    // The handler posts UTF-8 bytes of one JSON object.
    if (!(Data instanceof Uint8Array)) throw new Error(`posted ${typeof Data}, not bytes`);
    return { connectionId: ConnectionId, frame: JSON.parse(decoder.decode(Data)) };
  });
}

export function conversationItem(
  conversationId: string,
  members: string[],
  kind: 'direct' | 'group' = 'group',
): Record<string, unknown> {
  return {
    PK: `CONV#${conversationId}`,
    SK: 'META',
    type: 'conversation',
    conversationId,
    kind,
    members,
    title: kind === 'group' ? 'Lunch crew' : null,
    createdAt: '2026-11-20T08:00:00.000Z',
    createdBy: members[0],
  };
}

/** The conversation's `META` item as the (eventually consistent) GetItem of conversation-store.ts reads it. */
export function givenConversation(
  conversationId: string,
  members: string[],
  kind: 'direct' | 'group' = 'group',
): void {
  ddb
    .on(GetCommand, { Key: { PK: `CONV#${conversationId}`, SK: 'META' } })
    .resolves({ Item: conversationItem(conversationId, members, kind) });
}

/** The newest message's `seq`, as the consistent Query of message-store.ts reads it. */
export function givenLastSeq(conversationId: string, seq: number): void {
  ddb
    .on(QueryCommand, { ExpressionAttributeValues: { ':pk': `CONV#${conversationId}`, ':msg': 'MSG#' } })
    .resolves({ Items: seq === 0 ? [] : [{ seq }] });
}

/** `USER#{id}` partitions: each user's open connections. */
export function givenConnections(users: Record<string, string[]>): void {
  for (const [userId, connectionIds] of Object.entries(users)) {
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': `USER#${userId}` } }).resolves({
      Items: connectionIds.map((connectionId) => ({
        PK: `USER#${userId}`,
        SK: `CONN#${connectionId}`,
        type: 'connection',
        connectionId,
        userId,
        connectedAt: '2026-11-23T10:00:00.000Z',
        expiresAt: 1795440600,
      })),
    });
  }
}

/** A cancelled TransactWriteItems, one reason per item in order, as DynamoDB reports it. */
export function cancelled(...reasons: CancellationReason[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons
      .map((reason) => reason.Code)
      .join(', ')}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: reasons,
  });
}

export const NONE: CancellationReason = { Code: 'None' };
export const CONDITION_FAILED: CancellationReason = {
  Code: 'ConditionalCheckFailed',
  Message: 'The conditional request failed',
};
export const CONFLICT: CancellationReason = {
  Code: 'TransactionConflict',
  Message: 'Transaction is ongoing for the item',
};

export function conditionFailed(item?: Record<string, AttributeValue>): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    ...(item === undefined ? {} : { Item: item }),
  });
}

/**
 * What a caller without a member item also reads (functions/domain/membership.ts): a group's item,
 * consistently, to repair a member whose item its creation never wrote; nothing for a direct conversation.
 */
export function groupRead(conversationId: string): [string, unknown][] {
  if (conversationId.startsWith('dm_')) return [];
  return [
    [
      'GetCommand',
      { TableName: TABLE, Key: { PK: `CONV#${conversationId}`, SK: 'META' }, ConsistentRead: true },
    ],
  ];
}

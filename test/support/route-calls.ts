/**
 * What the integration tests that drive the real handlers against DynamoDB Local share: a frame sent
 * as a user from their phone, users unique to the test, an item read back as stored, and delivery run
 * on stream records with the frames it posted, by user.
 */
import { randomUUID } from 'node:crypto';
import {
  type ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { expect } from 'vitest';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import type { RouteHandler } from '../../functions/shared/route-answers.ts';
import { handler as delivery } from '../../functions/stream/delivery.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { streamEvent } from './stream-events.ts';

export type Frame = Record<string, unknown>;

/** `frame` sent by `userId` from their phone (`{userId}-phone`): the route's answer, if any. */
export async function callAs(route: RouteHandler, frame: Frame, userId: string): Promise<Frame | undefined> {
  const response = await route(
    messageEvent(frame, { userId, connectionId: `${userId}-phone` }),
    lambdaContext,
  );
  return response.body === undefined ? undefined : (JSON.parse(response.body) as Frame);
}

/** The names with a suffix of this call's own, so that tests sharing a table never meet. */
export const uniqueUsers = <Names extends string[]>(...names: Names): { [K in keyof Names]: string } => {
  const suffix = randomUUID().slice(0, 8);
  return names.map((name) => `${name}-${suffix}`) as { [K in keyof Names]: string };
};

/** The item as stored now (strongly consistent), or undefined. */
export async function readItem(key: { PK: string; SK: string }): Promise<Frame | undefined> {
  return (await dynamo.send(new GetCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }))).Item;
}

/**
 * Runs delivery on records as the stream would, expecting no failure, and answers the frames it posted
 * to each user's phone.
 */
export async function deliverRecords(
  managementApi: AwsClientStub<ApiGatewayManagementApiClient>,
  ...records: DynamoDBRecord[]
): Promise<Map<string, Frame[]>> {
  managementApi.resetHistory();
  expect(await delivery(streamEvent(...records))).toEqual({ batchItemFailures: [] });
  const posted = new Map<string, Frame[]>();
  for (const { args } of managementApi.commandCalls(PostToConnectionCommand)) {
    const { ConnectionId, Data } = args[0].input;
    const user = String(ConnectionId).replace(/-phone$/, '');
    posted.set(user, [...(posted.get(user) ?? []), JSON.parse(new TextDecoder().decode(Data as Uint8Array))]);
  }
  return posted;
}

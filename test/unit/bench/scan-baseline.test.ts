/**
 * The baseline the benchmark compares Parley with (bench/scan-baseline-handler.ts), with both clients
 * mocked: the paths the DynamoDB Local run never takes, since 10,000 connections fit in one Scan page
 * and every connection there is open.
 */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleHandlers } from '../../../bench/scan-baseline-handler.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const TableName = 'connections';

const handlers = (postConcurrency = 50) =>
  sampleHandlers({
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    managementApi: new ApiGatewayManagementApiClient({}),
    tableName: TableName,
    postConcurrency,
  });

const sendmessage = (data: string) => ({
  requestContext: { connectionId: 'c1' },
  body: JSON.stringify({ action: 'sendmessage', data }),
});

afterEach(() => {
  ddb.reset();
  api.reset();
});

describe('the Scan baseline', () => {
  it('puts the connectionId on $connect and deletes it on $disconnect', async () => {
    const { connect, disconnect } = handlers();
    await connect({ requestContext: { connectionId: 'c1' } });
    await disconnect({ requestContext: { connectionId: 'c1' } });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, { TableName, Item: { connectionId: 'c1' } });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { TableName, Key: { connectionId: 'c1' } });
  });

  it('follows every Scan page and posts the data to every connection, the sender too', async () => {
    ddb
      .on(ScanCommand, { ExclusiveStartKey: undefined })
      .resolves({
        Items: [{ connectionId: 'c1' }, { connectionId: 'c2' }],
        LastEvaluatedKey: { connectionId: 'c2' },
      })
      .on(ScanCommand, { ExclusiveStartKey: { connectionId: 'c2' } })
      .resolves({ Items: [{ connectionId: 'c3' }] });
    await handlers().sendMessage(sendmessage('hello'));
    expect(ddb).toHaveReceivedCommandTimes(ScanCommand, 2);
    for (const ConnectionId of ['c1', 'c2', 'c3']) {
      expect(api).toHaveReceivedCommandWith(PostToConnectionCommand, { ConnectionId, Data: 'hello' });
    }
  });

  it('deletes a connection that answers 410 and no other', async () => {
    ddb.on(ScanCommand).resolves({ Items: [{ connectionId: 'c1' }, { connectionId: 'gone' }] });
    api
      .on(PostToConnectionCommand, { ConnectionId: 'gone' })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));
    await handlers().sendMessage(sendmessage('hello'));
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(DeleteCommand, {
      TableName,
      Key: { connectionId: 'gone' },
    });
  });

  it('keeps at most postConcurrency posts in flight', async () => {
    ddb.on(ScanCommand).resolves({ Items: Array.from({ length: 7 }, (_, i) => ({ connectionId: `c${i}` })) });
    let inFlight = 0;
    let most = 0;
    api.on(PostToConnectionCommand).callsFake(async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return {};
    });
    await handlers(3).sendMessage(sendmessage('hello'));
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 7);
    expect(most).toBe(3);
  });
});

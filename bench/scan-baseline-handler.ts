/**
 * The usual design, rebuilt from the description of AWS's WebSocket chat sample
 * ("simple-websockets-chat-app"), for bench/scan-baseline.ts to measure beside Parley: one table keyed
 * by `connectionId` holding nothing else; `$connect` puts the caller's connectionId, `$disconnect`
 * deletes it, and `sendmessage` scans the whole table and posts the message's `data` to every
 * connection, deleting each one that answers 410. Nothing else is stored: no message, no history.
 */
import {
  type ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import { httpStatusOf } from '../functions/adapters/aws-errors.ts';

/** The fields of API Gateway's WebSocket event that the sample reads. */
export interface SampleEvent {
  readonly requestContext: { readonly connectionId: string };
  readonly body?: string;
}

export interface SampleClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly managementApi: ApiGatewayManagementApiClient;
  readonly tableName: string;
  /** Posts in flight at once: `Promise.all` over chunks of this many connections. */
  readonly postConcurrency: number;
}

export interface SampleHandlers {
  connect(event: SampleEvent): Promise<{ statusCode: number }>;
  disconnect(event: SampleEvent): Promise<{ statusCode: number }>;
  sendMessage(event: SampleEvent): Promise<{ statusCode: number }>;
}

const OK = { statusCode: 200 } as const;

export function sampleHandlers({
  dynamo,
  managementApi,
  tableName,
  postConcurrency,
}: SampleClients): SampleHandlers {
  const forget = (connectionId: string) =>
    dynamo.send(new DeleteCommand({ TableName: tableName, Key: { connectionId } }));

  const post = async (connectionId: string, data: string): Promise<void> => {
    try {
      await managementApi.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
    } catch (error) {
      if (httpStatusOf(error) !== 410) throw error;
      await forget(connectionId);
    }
  };

  return {
    async connect(event) {
      const { connectionId } = event.requestContext;
      await dynamo.send(new PutCommand({ TableName: tableName, Item: { connectionId } }));
      return OK;
    },
    async disconnect(event) {
      await forget(event.requestContext.connectionId);
      return OK;
    },
    async sendMessage(event) {
      const { data } = JSON.parse(event.body ?? '{}') as { data: string };
      const connectionIds: string[] = [];
      // A Scan answers at most 1 MB per page: follow LastEvaluatedKey to reach every connection.
      for await (const page of paginateScan({ client: dynamo }, { TableName: tableName })) {
        for (const item of page.Items ?? []) connectionIds.push(String(item.connectionId));
      }
      for (let start = 0; start < connectionIds.length; start += postConcurrency) {
        const chunk = connectionIds.slice(start, start + postConcurrency);
        await Promise.all(chunk.map((connectionId) => post(connectionId, data)));
      }
      return OK;
    },
  };
}

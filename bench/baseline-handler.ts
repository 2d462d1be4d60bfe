/**
 * The cold-start yardstick: a handler that only builds a DynamoDB document client, bundled with the
 * same settings as Parley's handlers. Its size is the floor architecture.md quotes (~330 KB), and its
 * module initialisation is what every Parley handler is compared with.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (): Promise<{ statusCode: number }> => ({ statusCode: 200 });

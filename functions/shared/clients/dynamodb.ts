import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { optionalEnv, requiredEnv } from '../env.ts';
import { CLIENT_HTTP_OPTIONS } from './http-options.ts';

/** Built once per container. `DYNAMODB_ENDPOINT` points it at DynamoDB Local; AWS leaves it unset. */
export const dynamo = DynamoDBDocumentClient.from(
  new DynamoDBClient({ ...CLIENT_HTTP_OPTIONS, endpoint: optionalEnv('DYNAMODB_ENDPOINT') }),
  { marshallOptions: { removeUndefinedValues: true } },
);

export const TABLE_NAME = requiredEnv('TABLE_NAME');

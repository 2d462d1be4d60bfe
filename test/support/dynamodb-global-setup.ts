/** Integration suite: one DynamoDB Local for all files, always stopped at the end. */
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from '../../local/dynamodb-local.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const db = await startDynamoDbLocal();
  // Workers inherit this environment: handler modules build their clients from it at import time.
  process.env.DYNAMODB_ENDPOINT = db.endpoint;
  process.env.AWS_REGION = LOCAL_REGION;
  process.env.AWS_ACCESS_KEY_ID = LOCAL_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_CREDENTIALS.secretAccessKey;
  return () => db.stop();
}

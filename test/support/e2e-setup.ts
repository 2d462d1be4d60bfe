/**
 * Runs before each end-to-end file: the local stacks it starts (as `node local/start.ts` or in process)
 * use this worker's DynamoDB Local, each with a table of its own (local/harness/local-stack-process.ts),
 * instead of starting a JVM per stack.
 */
import { workerDynamoDbEndpoint } from './worker-dynamodb.ts';

process.env.PARLEY_DYNAMODB_ENDPOINT = workerDynamoDbEndpoint();

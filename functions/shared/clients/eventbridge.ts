import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { optionalEnv } from '../env.ts';
import { CLIENT_HTTP_OPTIONS } from './http-options.ts';

/** Built once per container. `EVENTBRIDGE_ENDPOINT` points it at the local stack's event recorder. */
export const eventBridge = new EventBridgeClient({
  ...CLIENT_HTTP_OPTIONS,
  endpoint: optionalEnv('EVENTBRIDGE_ENDPOINT'),
});

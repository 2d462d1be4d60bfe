import { SNSClient } from '@aws-sdk/client-sns';
import { optionalEnv } from '../env.ts';
import { CLIENT_HTTP_OPTIONS } from './http-options.ts';

/** Built once per container. `SNS_ENDPOINT` points it at the local stack's push recorder. */
export const sns = new SNSClient({ ...CLIENT_HTTP_OPTIONS, endpoint: optionalEnv('SNS_ENDPOINT') });

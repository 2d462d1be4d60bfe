import { SNSClient } from '@aws-sdk/client-sns';
import { optionalEnv } from '../env.ts';

/** Built once per container. `SNS_ENDPOINT` points it at the local stack's push recorder. */
export const sns = new SNSClient({ endpoint: optionalEnv('SNS_ENDPOINT') });

/** Publishing one mobile push to one SNS platform endpoint. */
import {
  EndpointDisabledException,
  InvalidParameterException,
  NotFoundException,
  PublishCommand,
} from '@aws-sdk/client-sns';
import { sns } from '../shared/clients/sns.ts';

/**
 * `endpoint_gone` when the device can no longer receive pushes: SNS disabled the endpoint after the
 * platform rejected its token, or the endpoint was deleted (SNS answers NotFound, or InvalidParameter
 * naming the TargetArn). Every other failure (throttling, 5xx, permissions) is thrown so the stream
 * record is retried.
 */
export async function publishPush(endpointArn: string, message: string): Promise<'sent' | 'endpoint_gone'> {
  try {
    await sns.send(
      new PublishCommand({ TargetArn: endpointArn, MessageStructure: 'json', Message: message }),
    );
    return 'sent';
  } catch (error) {
    if (isEndpointGone(error)) return 'endpoint_gone';
    throw error;
  }
}

function isEndpointGone(error: unknown): boolean {
  if (error instanceof EndpointDisabledException || error instanceof NotFoundException) return true;
  // Only the TargetArn: an invalid payload is our bug, and removing the device would hide it.
  return error instanceof InvalidParameterException && /TargetArn|[Ee]ndpoint/.test(error.message);
}

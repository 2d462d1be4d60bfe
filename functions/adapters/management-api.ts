/** Posting frames to WebSocket connections through the stage's `@connections` management API. */
import { GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import type { ServerFrame } from '../domain/frames.ts';
import { managementApi } from '../shared/clients/management-api.ts';

const encoder = new TextEncoder();

/**
 * `gone` when API Gateway answers 410: the connection closed without (or before) `$disconnect`
 * cleaning it up. Every other failure is thrown, so the caller can retry.
 */
export async function postToConnection(connectionId: string, frame: ServerFrame): Promise<'sent' | 'gone'> {
  try {
    await managementApi.send(
      new PostToConnectionCommand({
        ConnectionId: connectionId,
        Data: encoder.encode(JSON.stringify(frame)),
      }),
    );
    return 'sent';
  } catch (error) {
    if (
      error instanceof GoneException ||
      (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410
    ) {
      return 'gone';
    }
    throw error;
  }
}

/** Open WebSocket connections, through the stage's `@connections` management API. */
import {
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ServerFrame } from '../domain/frames.ts';
import { managementApi } from '../shared/clients/management-api.ts';
import { httpStatusOf } from './aws-errors.ts';

const encoder = new TextEncoder();

const isGone = (error: unknown): boolean => error instanceof GoneException || httpStatusOf(error) === 410;

/**
 * `gone` when API Gateway answers 410: the connection is closed, or its `$connect` has not returned yet
 * (API Gateway answers 410 in that window too, so a 410 alone does not prove the socket is gone). Every
 * other failure is thrown for the caller to classify (functions/adapters/aws-errors.ts).
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
    if (isGone(error)) return 'gone';
    throw error;
  }
}

/** Closes the connection (API Gateway then runs `$disconnect`); one that is already gone is fine. */
export async function closeConnection(connectionId: string): Promise<void> {
  try {
    await managementApi.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } catch (error) {
    if (!isGone(error)) throw error;
  }
}

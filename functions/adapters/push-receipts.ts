/**
 * Push receipts (`PUSH#{conversationId}#{seq}` / `DEVICE#{userId}#{deviceId}`): one per (message, device)
 * that was pushed. Claimed with a conditional put before the SNS Publish, so a stream record that is
 * retried, or redelivered from the on-failure queue, never notifies a device twice (architecture.md,
 * guarantee 8). A Publish that fails releases its claim, so the retry can push; a crash between claim
 * and Publish loses that one push, which "at most once" allows.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Device } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';

/** Longer than any stream retry (records expire after a day): a receipt must outlive its record. */
const PUSH_RECEIPT_TTL_SECONDS = 7 * 24 * 60 * 60;

export interface PushedMessage {
  conversationId: string;
  seq: number;
}

/** True when this call claimed the push; false when the device already got (or is getting) it. */
export async function claimPush(message: PushedMessage, device: Device, now: Date): Promise<boolean> {
  try {
    await dynamo.send(
      new PutCommand({
        TableName: TABLE_NAME,
        Item: {
          ...keys.pushReceipt(message.conversationId, message.seq, device.userId, device.deviceId),
          type: 'pushReceipt',
          pushedAt: now.toISOString(),
          expiresAt: Math.floor(now.getTime() / 1000) + PUSH_RECEIPT_TTL_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(PK)',
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

export async function releasePush(message: PushedMessage, device: Device): Promise<void> {
  await dynamo.send(
    new DeleteCommand({
      TableName: TABLE_NAME,
      Key: keys.pushReceipt(message.conversationId, message.seq, device.userId, device.deviceId),
    }),
  );
}

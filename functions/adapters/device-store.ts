/**
 * Device items (`USER#{userId}` / `DEVICE#{deviceId}`: where to push) and push token claims
 * (`TOKEN#{platform}#{hash}`: which user/device holds a token now). A token belongs to one device of one
 * user at a time, so a phone that changes hands stops receiving its previous owner's messages.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Device, Platform } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';

type Item = Record<string, unknown>;

export interface DeviceOwner {
  userId: string;
  deviceId: string;
}

function toDevice(item: Item): Device {
  return {
    userId: String(item.userId),
    deviceId: String(item.deviceId),
    platform: item.platform as Platform,
    token: String(item.token),
    endpointArn: String(item.endpointArn),
    registeredAt: String(item.registeredAt),
  };
}

/** Writes the device item; returns the one it replaced, if any (a rotated token shows there). */
export async function putDevice(device: Device): Promise<Device | undefined> {
  const { Attributes } = await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: { ...keys.device(device.userId, device.deviceId), type: 'device', ...device },
      ReturnValues: 'ALL_OLD',
    }),
  );
  return Attributes === undefined ? undefined : toDevice(Attributes);
}

/** Returns the deleted device item, or undefined when there was none (unregistering is idempotent). */
export async function deleteDevice(userId: string, deviceId: string): Promise<Device | undefined> {
  const { Attributes } = await dynamo.send(
    new DeleteCommand({ TableName: TABLE_NAME, Key: keys.device(userId, deviceId), ReturnValues: 'ALL_OLD' }),
  );
  return Attributes === undefined ? undefined : toDevice(Attributes);
}

/**
 * Deletes the device item only while it still points at this platform token: the device may have
 * re-registered with a new token meanwhile, and that registration must survive.
 */
export async function deleteDeviceIfToken(
  owner: DeviceOwner,
  platform: Platform,
  token: string,
): Promise<boolean> {
  return deleteIf(
    new DeleteCommand({
      TableName: TABLE_NAME,
      Key: keys.device(owner.userId, owner.deviceId),
      ConditionExpression: '#token = :token AND platform = :platform',
      ExpressionAttributeNames: { '#token': 'token' },
      ExpressionAttributeValues: { ':token': token, ':platform': platform },
    }),
  );
}

/** Deletes the device item only while it still points at this endpoint (see deleteDeviceIfToken). */
export async function deleteDeviceIfEndpoint(owner: DeviceOwner, endpointArn: string): Promise<boolean> {
  return deleteIf(
    new DeleteCommand({
      TableName: TABLE_NAME,
      Key: keys.device(owner.userId, owner.deviceId),
      ConditionExpression: 'endpointArn = :endpointArn',
      ExpressionAttributeValues: { ':endpointArn': endpointArn },
    }),
  );
}

/** Makes `owner` the holder of the token; returns the previous holder, if any. */
export async function claimToken(
  platform: Platform,
  token: string,
  owner: DeviceOwner,
): Promise<DeviceOwner | undefined> {
  const { Attributes } = await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: { ...keys.pushToken(platform, token), type: 'pushToken', ...owner, platform },
      ReturnValues: 'ALL_OLD',
    }),
  );
  return Attributes === undefined ? undefined : toOwner(Attributes);
}

export type ClaimRelease = 'released' | 'absent' | 'held_by_other';

/**
 * Drops `owner`'s claim on the token. A claim another device took over is left alone: that device now
 * uses the same SNS endpoint, so the caller must not delete it either.
 */
export async function releaseTokenClaim(
  platform: Platform,
  token: string,
  owner: DeviceOwner,
): Promise<ClaimRelease> {
  try {
    await dynamo.send(
      new DeleteCommand({
        TableName: TABLE_NAME,
        Key: keys.pushToken(platform, token),
        ConditionExpression: 'userId = :userId AND deviceId = :deviceId',
        ExpressionAttributeValues: { ':userId': owner.userId, ':deviceId': owner.deviceId },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return 'released';
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return error.Item === undefined ? 'absent' : 'held_by_other';
  }
}

async function deleteIf(command: DeleteCommand): Promise<boolean> {
  try {
    await dynamo.send(command);
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

function toOwner(item: Item): DeviceOwner {
  return { userId: String(item.userId), deviceId: String(item.deviceId) };
}

/**
 * What the delivery Lambda reads, answered by aws-sdk-client-mock: the conversation item, each user's
 * partition (connections, devices, state) and the frames it posted to connections.
 */
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';

// biome-ignore lint/suspicious/noExplicitAny: the stubs' client types differ per test file.
type Stub = AwsStub<any, any, any>;

export interface TestDevice {
  deviceId: string;
  platform: 'apns' | 'apns_sandbox' | 'fcm';
  token: string;
  endpointArn: string;
}

export interface TestUser {
  connections?: string[];
  devices?: TestDevice[];
  deactivated?: boolean;
  /** (1.2) The users this one blocks (the `blocks` set of their state item). */
  blocks?: string[];
  /** (1.2) The users who block this one (their BLOCKEDBY items). */
  blockedBy?: string[];
}

/**
 * The conversation item, and its member items as delivery's strongly consistent Query of a direct
 * conversation reads them (who hid it: `hiddenUntilSeq`, with each member's `lastSeq`).
 */
export function mockConversation(
  ddb: Stub,
  conversationId: string,
  members: string[],
  kind = 'direct',
  cursors: Record<
    string,
    { hiddenUntilSeq?: number; lastSeq?: number; readSeq?: number; sent?: boolean; peerSent?: boolean }
  > = {},
): void {
  mockMemberItems(ddb, conversationId, members, cursors);
  ddb.on(GetCommand, { Key: { PK: `CONV#${conversationId}`, SK: 'META' } }).resolves({
    Item: {
      PK: `CONV#${conversationId}`,
      SK: 'META',
      type: 'conversation',
      conversationId,
      kind,
      members,
      title: null,
      createdAt: '2026-11-20T08:00:00.000Z',
    },
  });
}

export function mockMemberItems(
  ddb: Stub,
  conversationId: string,
  members: string[],
  cursors: Record<
    string,
    { hiddenUntilSeq?: number; lastSeq?: number; readSeq?: number; sent?: boolean; peerSent?: boolean }
  > = {},
): void {
  ddb
    .on(QueryCommand, {
      ExpressionAttributeValues: { ':pk': `CONV#${conversationId}`, ':member': 'MEMBER#' },
    })
    .resolves({
      Items: members.map((userId) => ({
        PK: `CONV#${conversationId}`,
        SK: `MEMBER#${userId}`,
        type: 'member',
        conversationId,
        userId,
        readSeq: 0,
        lastSeq: 0,
        // (1.2) Both have written in it: consent, so receipts pass (override to test without).
        sent: true,
        peerSent: true,
        ...cursors[userId],
      })),
    });
}

/** Each user's `USER#{id}` partition, as the one Query of user-directory.ts reads it. */
export function mockUsers(ddb: Stub, users: Record<string, TestUser>): void {
  for (const [userId, user] of Object.entries(users)) {
    const pk = `USER#${userId}`;
    const items: Record<string, unknown>[] = [];
    for (const connectionId of user.connections ?? []) {
      items.push({
        PK: pk,
        SK: `CONN#${connectionId}`,
        type: 'connection',
        connectionId,
        userId,
        connectedAt: '2026-11-23T10:00:00.000Z',
        expiresAt: 1795267800,
      });
    }
    for (const device of user.devices ?? []) {
      items.push({
        PK: pk,
        SK: `DEVICE#${device.deviceId}`,
        type: 'device',
        userId,
        ...device,
        registeredAt: '2026-11-01T12:00:00.000Z',
      });
    }
    if (user.deactivated !== undefined || user.blocks !== undefined) {
      items.push({
        PK: pk,
        SK: 'STATE',
        type: 'userState',
        ...(user.deactivated !== undefined && { deactivated: user.deactivated }),
        ...(user.blocks !== undefined && { blocks: new Set(user.blocks) }),
      });
    }
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': pk } }).resolves({ Items: items });
    // (1.2) Who blocks this user (block-store.ts): one item per blocker.
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': `BLOCKEDBY#${userId}` } }).resolves({
      Items: (user.blockedBy ?? []).map((blocker) => ({ PK: `BLOCKEDBY#${userId}`, SK: blocker })),
    });
  }
}

const decoder = new TextDecoder();

/** Every PostToConnection, in order, with its payload parsed; only frames of `type` when given. */
export function postedCalls(
  api: Stub,
  type?: string,
): { connectionId: string; frame: Record<string, unknown> }[] {
  return api
    .commandCalls(PostToConnectionCommand)
    .map((call) => {
      const input = call.args[0].input as { ConnectionId: string; Data: Uint8Array };
      return { connectionId: input.ConnectionId, frame: JSON.parse(decoder.decode(input.Data)) };
    })
    .filter(({ frame }) => type === undefined || frame.type === type);
}

/** The frame posted to each connection (the last one, if several); only frames of `type` when given. */
export function postedFrames(api: Stub, type?: string): Map<string, Record<string, unknown>> {
  return new Map(postedCalls(api, type).map(({ connectionId, frame }) => [connectionId, frame]));
}

/** What delivery recorded for the on-failure queue (published to the failure topic), parsed, in order. */
export function queuedFailures(sns: Stub): Record<string, unknown>[] {
  return sns
    .commandCalls(PublishCommand)
    .map((call) => call.args[0].input as { TopicArn?: string; Message: string })
    .filter((input) => input.TopicArn === process.env.DELIVERY_FAILURE_TOPIC_ARN)
    .map((input) => JSON.parse(input.Message));
}

/** The failure topic accepts what delivery publishes (or fails with `error`). */
export function mockFailureTopic(sns: Stub, error?: Error): void {
  const behaviour = sns.on(PublishCommand, { TopicArn: process.env.DELIVERY_FAILURE_TOPIC_ARN });
  if (error === undefined) behaviour.resolves({ MessageId: 'failure-1' });
  else behaviour.rejects(error);
}

/** Delivery's count of failed attempts for a record: `attempts` including the current one. */
export function mockFailedAttempts(ddb: Stub, attempts: number): void {
  ddb.on(UpdateCommand, { Key: { SK: 'ATTEMPTS' } }).resolves({ Attributes: { attempts } });
}

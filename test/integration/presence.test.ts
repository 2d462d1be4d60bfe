/**
 * Presence against DynamoDB Local: the delivery Lambda keeps each user's set of open connections from
 * the stream's connection records, and tells their direct contacts (and no one else) `online` once when
 * the first opens and `offline` once when the last closes: with 50 devices, with every batch delivered
 * twice, and when a connection goes without `$disconnect` (TTL deleting its item). Only the management
 * API is mocked.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memberItem } from '../../functions/adapters/conversation-store.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { handler } from '../../functions/stream/delivery.ts';
import { seedGroupConversation } from '../support/seed.ts';
import { streamEvent } from '../support/stream-events.ts';

const api = mockClient(ApiGatewayManagementApiClient);
const put = (Item: Record<string, unknown>) => dynamo.send(new PutCommand({ TableName: TABLE_NAME, Item }));
const CONNECTED_AT = '2026-12-02T09:00:00.000Z';
// Half an hour after CONNECTED_AT (a close is never dated before its open).
const CLOSED_AT_EPOCH_S = 1_796_203_800;

let sequence = 1_000_000_000;
/** A stream record of a connection item put or removed, with the next sequence number of its shard. */
function connectionRecord(
  eventName: 'INSERT' | 'REMOVE',
  userId: string,
  connectionId: string,
  options: { byTtl?: boolean; sequenceNumber?: string } = {},
): DynamoDBRecord {
  const key = keys.connection(userId, connectionId);
  const image = marshall({ ...key, type: 'connection', userId, connectionId, connectedAt: CONNECTED_AT });
  sequence += 1;
  const sequenceNumber = options.sequenceNumber ?? `4000000000${sequence}`;
  return {
    eventID: `presence-${sequenceNumber}`,
    eventName,
    eventSource: 'aws:dynamodb',
    ...(options.byTtl === true && {
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    }),
    dynamodb: {
      Keys: marshall(key) as never,
      SequenceNumber: sequenceNumber,
      ApproximateCreationDateTime: CLOSED_AT_EPOCH_S,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...(eventName === 'INSERT' ? { NewImage: image as never } : { OldImage: image as never }),
    },
  };
}

/** The presence frames each contact connection was posted, in order. */
function presencePosts(): Record<string, { status: string; userId: string; lastSeen?: string }[]> {
  const decoder = new TextDecoder();
  const posts: Record<string, { status: string; userId: string; lastSeen?: string }[]> = {};
  for (const call of api.commandCalls(PostToConnectionCommand)) {
    const { ConnectionId, Data } = call.args[0].input;
    const frame = JSON.parse(decoder.decode(Data as Uint8Array));
    if (frame.type !== 'presence') continue;
    const id = String(ConnectionId);
    posts[id] = [...(posts[id] ?? []), frame];
  }
  return posts;
}

async function deliverTwice(records: DynamoDBRecord[], batchSize: number): Promise<void> {
  for (let start = 0; start < records.length; start += batchSize) {
    const batch = streamEvent(...records.slice(start, start + batchSize));
    // Lambda may deliver a batch again (a retry, a timeout after the work was done): nothing may change.
    expect(await handler(batch)).toEqual({ batchItemFailures: [] });
    expect(await handler(batch)).toEqual({ batchItemFailures: [] });
  }
}

async function openConnections(userId: string): Promise<unknown> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.presence(userId), ConsistentRead: true }),
  );
  return Item?.connections ?? new Set();
}

/** `userId` with a direct contact `contact` (online on one connection) and a group with `stranger`. */
async function seedContacts(userId: string, contact: string, stranger: string): Promise<void> {
  const direct = directConversationId(userId, contact);
  await put({
    ...keys.conversation(direct),
    type: 'conversation',
    conversationId: direct,
    kind: 'direct',
    members: [userId, contact].sort(),
    title: null,
    createdAt: CONNECTED_AT,
  });
  const conversation = {
    conversationId: direct,
    kind: 'direct' as const,
    members: [userId, contact].sort(),
    title: null,
  };
  // (1.2) Both have written in it: consent, so presence flows between them.
  const consented = { sent: true, peerSent: true };
  await put({ ...memberItem(conversation, userId, CONNECTED_AT), ...consented });
  await put({ ...memberItem(conversation, contact, CONNECTED_AT), ...consented });
  await seedGroupConversation(`grp_${userId}_${stranger}`, [userId, stranger]);
  for (const other of [contact, stranger]) {
    await put({
      ...keys.connection(other, `${other}-phone`),
      type: 'connection',
      userId: other,
      connectionId: `${other}-phone`,
      connectedAt: CONNECTED_AT,
    });
  }
}

beforeEach(() => {
  api.on(PostToConnectionCommand).resolves({});
});

afterEach(() => {
  api.reset();
});

describe('presence', () => {
  beforeAll(async () => {
    await seedContacts('pia', 'quinn', 'rex');
    await seedContacts('sol', 'tao', 'uma');
  });

  it('gives one online and one offline for 50 devices opening and closing, with every batch delivered twice', async () => {
    const devices = Array.from({ length: 50 }, (_, i) => `pia-device-${String(i).padStart(2, '0')}`);

    await deliverTwice(
      devices.map((device) => connectionRecord('INSERT', 'pia', device)),
      10,
    );
    expect(presencePosts()).toEqual({
      'quinn-phone': [{ type: 'presence', userId: 'pia', status: 'online' }],
    });
    expect(await openConnections('pia')).toEqual(new Set(devices));

    await deliverTwice(
      devices.map((device) => connectionRecord('REMOVE', 'pia', device)),
      7,
    );

    // Only the contact hears of it; the group's other member is not a contact.
    expect(presencePosts()).toEqual({
      'quinn-phone': [
        { type: 'presence', userId: 'pia', status: 'online' },
        {
          type: 'presence',
          userId: 'pia',
          status: 'offline',
          lastSeen: new Date(CLOSED_AT_EPOCH_S * 1000).toISOString(),
        },
      ],
    });
    expect(await openConnections('pia')).toEqual(new Set());
  });

  it('goes offline when the last connection’s item expires by TTL (a $disconnect lost for good), and a late replay changes nothing', async () => {
    const opened = connectionRecord('INSERT', 'sol', 'sol-laptop');
    await deliverTwice([opened, connectionRecord('INSERT', 'sol', 'sol-phone')], 2);
    // The phone closes normally; the laptop's $disconnect never comes, and its item expires.
    await deliverTwice([connectionRecord('REMOVE', 'sol', 'sol-phone')], 1);
    expect(presencePosts()['tao-phone']?.map((frame) => frame.status)).toEqual(['online']);

    await deliverTwice([connectionRecord('REMOVE', 'sol', 'sol-laptop', { byTtl: true })], 1);
    expect(presencePosts()['tao-phone']?.map((frame) => frame.status)).toEqual(['online', 'offline']);

    // The laptop's INSERT delivered again, long after: refused by its older sequence number.
    expect(await handler(streamEvent(opened))).toEqual({ batchItemFailures: [] });
    expect(presencePosts()['tao-phone']?.map((frame) => frame.status)).toEqual(['online', 'offline']);
    expect(await openConnections('sol')).toEqual(new Set());
    expect(presencePosts()['uma-phone']).toBeUndefined();
  });
});

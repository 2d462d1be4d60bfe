/**
 * The delivery Lambda's presence records (a connection item put or removed): the exact update of the
 * user's connection set, the transition it reports, the contacts it is told to, and what is retried.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/stream/delivery.ts';
import { mockUsers, postedCalls } from '../../support/delivery-mocks.ts';
import { streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const SEQUENCE = '4421584900000000017450443012';

function connectionRecord(eventName: 'INSERT' | 'REMOVE', connectionId = 'adaPhone0001='): DynamoDBRecord {
  const key = { PK: 'USER#ada', SK: `CONN#${connectionId}` };
  const image = marshall({
    ...key,
    type: 'connection',
    userId: 'ada',
    connectionId,
    connectedAt: '2026-12-02T09:00:00.000Z',
  });
  return {
    eventID: 'c81e728d9d4c2f636f067f89cc14862c',
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: marshall(key) as never,
      SequenceNumber: SEQUENCE,
      ApproximateCreationDateTime: 1_796_203_800,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
      ...(eventName === 'INSERT' ? { NewImage: image as never } : { OldImage: image as never }),
    },
  };
}

/** ada's direct contacts, as the `inbox` index answers. */
function givenContacts(...peers: string[]): void {
  ddb.on(QueryCommand, { IndexName: 'inbox' }).resolves({
    Items: peers.map((peer, i) => ({
      memberOf: 'ada',
      PK: `CONV#dm_${peer}`,
      SK: 'MEMBER#ada',
      peer,
      activityAt: `2026-12-01T10:00:0${i}.000Z`,
    })),
  });
}

const setBefore = (...connections: string[]) => ({
  Attributes: connections.length === 0 ? {} : { connections: new Set(connections) },
});

beforeEach(() => {
  api.on(PostToConnectionCommand).resolves({});
  givenContacts('ben', 'dot');
  mockUsers(ddb, {
    ben: { connections: ['benPhone0001='] },
    dot: { connections: ['dotPhone0001='], deactivated: true },
  });
});

afterEach(() => {
  ddb.reset();
  api.reset();
});

describe('presence in the delivery Lambda', () => {
  it('adds the opened connection to the set, and the first one tells the reachable contacts `online`', async () => {
    ddb.on(UpdateCommand).resolves(setBefore());

    expect(await handler(streamEvent(connectionRecord('INSERT')))).toEqual({ batchItemFailures: [] });

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'parley-test',
      Key: { PK: 'USER#ada', SK: 'PRESENCE' },
      UpdateExpression:
        'ADD connections :connection SET lastSequence = :sequence, #type = :type, changedAt = :at',
      ConditionExpression: 'attribute_not_exists(lastSequence) OR lastSequence < :sequence',
      ExpressionAttributeNames: { '#type': 'type' },
      ExpressionAttributeValues: {
        ':connection': new Set(['adaPhone0001=']),
        ':sequence': SEQUENCE.padStart(40, '0'),
        ':type': 'presence',
        ':at': '2026-12-02T09:00:00.000Z',
      },
      ReturnValues: 'ALL_OLD',
    });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'inbox',
      KeyConditionExpression: 'memberOf = :user AND begins_with(PK, :prefix)',
      ExpressionAttributeValues: { ':user': 'ada', ':prefix': 'CONV#dm_' },
    });
    // dot is deactivated: nothing new reaches her.
    expect(postedCalls(api)).toEqual([
      { connectionId: 'benPhone0001=', frame: { type: 'presence', userId: 'ada', status: 'online' } },
    ]);
  });

  it('says nothing when the user already had a connection open', async () => {
    ddb.on(UpdateCommand).resolves(setBefore('adaTablet001='));

    await handler(streamEvent(connectionRecord('INSERT')));

    expect(ddb).not.toHaveReceivedCommandWith(QueryCommand, { IndexName: 'inbox' });
    expect(api).not.toHaveReceivedCommand(PostToConnectionCommand);
  });

  it('removes a closed connection, and the last one tells the contacts `offline` with lastSeen', async () => {
    ddb.on(UpdateCommand).resolves(setBefore('adaPhone0001='));

    await handler(streamEvent(connectionRecord('REMOVE')));

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression:
        'DELETE connections :connection SET lastSequence = :sequence, #type = :type, changedAt = :at, lastSeen = :at',
      ExpressionAttributeValues: expect.objectContaining({ ':at': '2026-12-02T09:30:00.000Z' }),
    });
    expect(postedCalls(api)).toEqual([
      {
        connectionId: 'benPhone0001=',
        frame: { type: 'presence', userId: 'ada', status: 'offline', lastSeen: '2026-12-02T09:30:00.000Z' },
      },
    ]);
  });

  it('treats a record applied before (its sequence number is not newer) as done, telling no one', async () => {
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));

    expect(await handler(streamEvent(connectionRecord('REMOVE')))).toEqual({ batchItemFailures: [] });
    expect(api).not.toHaveReceivedCommand(PostToConnectionCommand);
  });

  it('retries the record while the set cannot be updated', async () => {
    ddb
      .on(UpdateCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

    expect(await handler(streamEvent(connectionRecord('INSERT')))).toEqual({
      batchItemFailures: [{ itemIdentifier: SEQUENCE }],
    });
  });

  it('closes a connection a frame route asked to close (its token expired)', async () => {
    api.on(DeleteConnectionCommand).resolves({});
    const record = connectionRecord('INSERT');
    record.eventName = 'MODIFY';
    record.dynamodb = {
      ...record.dynamodb,
      NewImage: marshall({
        PK: 'USER#ada',
        SK: 'CONN#adaPhone0001=',
        type: 'connection',
        userId: 'ada',
        connectionId: 'adaPhone0001=',
        closeRequested: 'token_expired',
      }) as never,
    };

    expect(await handler(streamEvent(record))).toEqual({ batchItemFailures: [] });

    expect(api).toHaveReceivedCommandWith(DeleteConnectionCommand, { ConnectionId: 'adaPhone0001=' });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('tells at most the 500 most recently active contacts', async () => {
    const peers = Array.from({ length: 600 }, (_, i) => `c${String(i).padStart(3, '0')}`);
    ddb.on(QueryCommand).callsFake((input: { IndexName?: string }) =>
      input.IndexName === 'inbox'
        ? {
            Items: peers.map((peer, i) => ({
              PK: `CONV#dm_${peer}`,
              peer,
              activityAt: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
            })),
          }
        : { Items: [] },
    );
    ddb.on(UpdateCommand).resolves(setBefore());

    await handler(streamEvent(connectionRecord('INSERT')));

    const partitions = ddb
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input.ExpressionAttributeValues?.[':pk'])
      .filter((pk) => typeof pk === 'string');
    expect(partitions).toHaveLength(500);
    // the newest 500: c100 to c599
    expect(partitions).not.toContain('USER#c099');
    expect(partitions).toContain('USER#c100');
  });
});

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

function connectionRecord(
  eventName: 'INSERT' | 'REMOVE',
  connectionId = 'adaPhone0001=',
  connectedAt = '2026-12-02T09:00:00.000Z',
): DynamoDBRecord {
  const key = { PK: 'USER#ada', SK: `CONN#${connectionId}` };
  const image = marshall({
    ...key,
    type: 'connection',
    userId: 'ada',
    connectionId,
    connectedAt,
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

/**
 * ada's direct contacts, as the `contacts` index answers: the contact's own entry of the direct
 * conversation with her (`peer` is ada, `memberOf` the contact), keys and owner only.
 */
const contactItem = (contact: string) => ({
  peer: 'ada',
  PK: `CONV#dm_ada_${contact}`,
  SK: `MEMBER#${contact}`,
  memberOf: contact,
});

function givenContacts(...contacts: string[]): void {
  ddb.on(QueryCommand, { IndexName: 'contacts' }).resolves({ Items: contacts.map(contactItem) });
}

/** The UpdateItems of list entries (member items), in order. */
const entryUpdates = () =>
  ddb
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => String(input.Key?.SK).startsWith('MEMBER#'));

/** `contact`'s entry of the direct conversation with ada shows her presence, and keeps its place. */
const presenceUpdate = (contact: string, status: 'online' | 'offline', at: string) => ({
  TableName: 'parley-test',
  Key: { PK: `CONV#dm_ada_${contact}`, SK: `MEMBER#${contact}` },
  UpdateExpression:
    status === 'online'
      ? 'SET peerStatus = :peerStatus, peerPresenceAt = :peerPresenceAt, changedBy = :entryChangedBy'
      : 'SET peerStatus = :peerStatus, peerPresenceAt = :peerPresenceAt, peerLastSeen = :peerLastSeen, changedBy = :entryChangedBy',
  // A transition delivered late never overwrites a newer one; (1.2) only with consent, never while
  // either blocks the other.
  ConditionExpression:
    'attribute_exists(PK) AND ((attribute_not_exists(peerPresenceAt) OR peerPresenceAt < :peerPresenceAt) AND sent = :consented AND peerSent = :consented AND attribute_not_exists(blocking) AND attribute_not_exists(blockedByPeer))',
  ExpressionAttributeValues: {
    ':peerStatus': status,
    ':peerPresenceAt': at,
    ':consented': true,
    ...(status === 'offline' && { ':peerLastSeen': at }),
    ':entryChangedBy': 'delivery',
  },
  ReturnValues: 'ALL_NEW',
  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
});

const setBefore = (...connections: string[]) => ({
  Attributes: connections.length === 0 ? {} : { connections: new Set(connections) },
});

/**
 * The presence set as it was before the update (`connections`), and each contact's entry as it stands
 * after its update: (1.2) both users wrote in it (consent), so presence passes.
 */
function givenPresenceSet(...connections: string[]): void {
  ddb
    .on(UpdateCommand)
    .callsFake((input: { Key?: { SK?: string } }) =>
      String(input.Key?.SK).startsWith('MEMBER#')
        ? { Attributes: { sent: true, peerSent: true } }
        : setBefore(...connections),
    );
}

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
    givenPresenceSet();

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
      TableName: 'parley-test',
      IndexName: 'contacts',
      KeyConditionExpression: 'peer = :user',
      ExpressionAttributeValues: { ':user': 'ada' },
      Limit: 500,
    });
    // Every contact's entry shows ada online (dot's too: her list is right if she is reactivated),
    // without moving: no changedAt, no listAt
    expect(entryUpdates()).toEqual([
      presenceUpdate('ben', 'online', '2026-12-02T09:00:00.000Z'),
      presenceUpdate('dot', 'online', '2026-12-02T09:00:00.000Z'),
    ]);
    // dot is deactivated: nothing new reaches her.
    expect(postedCalls(api)).toEqual([
      { connectionId: 'benPhone0001=', frame: { type: 'presence', userId: 'ada', status: 'online' } },
    ]);
  });

  it('tells no contact whose entry says either of the two blocks the other (protocol.md 1.2)', async () => {
    givenPresenceSet();
    // ben blocks ada: his entry's guarded update fails, and the stored entry comes back
    ddb.on(UpdateCommand, { Key: { PK: 'CONV#dm_ada_ben', SK: 'MEMBER#ben' } }).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: marshall({ PK: 'CONV#dm_ada_ben', SK: 'MEMBER#ben', blocking: true }),
      }),
    );

    expect(await handler(streamEvent(connectionRecord('INSERT')))).toEqual({ batchItemFailures: [] });

    expect(postedCalls(api)).toEqual([]);
  });

  it('tells no contact before both have written in their conversation (consent, protocol.md 1.2)', async () => {
    givenPresenceSet();
    // ben has not written to ada yet: his entry's guarded update fails on consent
    ddb.on(UpdateCommand, { Key: { PK: 'CONV#dm_ada_ben', SK: 'MEMBER#ben' } }).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: marshall({ PK: 'CONV#dm_ada_ben', SK: 'MEMBER#ben', peerSent: true }),
      }),
    );

    expect(await handler(streamEvent(connectionRecord('INSERT')))).toEqual({ batchItemFailures: [] });

    expect(postedCalls(api)).toEqual([]);
  });

  it('dates a close no earlier than its open: the stream’s whole second can fall before it', async () => {
    // GIVEN a connection opened at 09:30:00.700, closed within that second (the stream says 09:30:00)
    givenPresenceSet('adaPhone0001=');

    await handler(streamEvent(connectionRecord('REMOVE', 'adaPhone0001=', '2026-12-02T09:30:00.700Z')));

    // THEN the contacts' entries take the close a millisecond after the open, so it orders after it
    expect(entryUpdates()[0]?.ExpressionAttributeValues).toMatchObject({
      ':peerPresenceAt': '2026-12-02T09:30:00.701Z',
    });
  });

  it('says nothing when the user already had a connection open', async () => {
    givenPresenceSet('adaTablet001=');

    await handler(streamEvent(connectionRecord('INSERT')));

    expect(ddb).not.toHaveReceivedCommandWith(QueryCommand, { IndexName: 'contacts' });
    expect(entryUpdates()).toEqual([]);
    expect(api).not.toHaveReceivedCommand(PostToConnectionCommand);
  });

  it('removes a closed connection, and the last one tells the contacts `offline` with lastSeen', async () => {
    givenPresenceSet('adaPhone0001=');

    await handler(streamEvent(connectionRecord('REMOVE')));

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression:
        'DELETE connections :connection SET lastSequence = :sequence, #type = :type, changedAt = :at, lastSeen = :at',
      ExpressionAttributeValues: expect.objectContaining({ ':at': '2026-12-02T09:30:00.000Z' }),
    });
    expect(entryUpdates()).toEqual([
      presenceUpdate('ben', 'offline', '2026-12-02T09:30:00.000Z'),
      presenceUpdate('dot', 'offline', '2026-12-02T09:30:00.000Z'),
    ]);
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
    expect(entryUpdates()).toEqual([]);
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

  it("writes the contacts' entries before posting any presence frame", async () => {
    givenPresenceSet();

    await handler(streamEvent(connectionRecord('INSERT')));

    const entryWrites = ddb
      .commandCalls(UpdateCommand)
      .filter((call) => String(call.args[0].input.Key?.SK).startsWith('MEMBER#'));
    const [post] = api.commandCalls(PostToConnectionCommand);
    expect(entryWrites).toHaveLength(2);
    for (const write of entryWrites) expect(write.calledBefore(post as never)).toBe(true);
  });

  it("keeps a contact's newer presence: a late transition is not written again, and still posted", async () => {
    // GIVEN ben's entry shows a transition of ada's after this one (an older record delivered late)
    givenPresenceSet();
    ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#ben' } }).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: marshall({
          ...contactItem('ben'),
          peerStatus: 'offline',
          peerPresenceAt: '2026-12-02T09:05:00.000Z',
          sent: true,
          peerSent: true,
        }),
      }),
    );

    expect(await handler(streamEvent(connectionRecord('INSERT')))).toEqual({ batchItemFailures: [] });

    expect(entryUpdates().filter((input) => input.Key?.SK === 'MEMBER#ben')).toHaveLength(1);
    expect(postedCalls(api)).toHaveLength(1);
  });

  it('tells at most the first 500 contacts of the contacts index', async () => {
    // GIVEN ada has 600 contacts; the index answers pages of at most 300 items
    const contacts = Array.from({ length: 600 }, (_, i) => `c${String(i).padStart(3, '0')}`);
    ddb
      .on(QueryCommand)
      .callsFake((input: { IndexName?: string; Limit?: number; ExclusiveStartKey?: unknown }) => {
        if (input.IndexName !== 'contacts') return { Items: [] };
        const from = input.ExclusiveStartKey === undefined ? 0 : 300;
        const page = contacts.slice(from, from + Math.min(300, input.Limit ?? 300));
        const last = page.at(-1);
        return {
          Items: page.map(contactItem),
          ...(last !== undefined && { LastEvaluatedKey: { peer: 'ada', PK: `CONV#dm_ada_${last}` } }),
        };
      });
    givenPresenceSet();

    await handler(streamEvent(connectionRecord('INSERT')));

    // THEN the index is asked for 500, then for the 200 still missing, and no more
    const limits = ddb
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.IndexName === 'contacts')
      .map((input) => input.Limit);
    expect(limits).toEqual([500, 200]);
    // 500 entries written and 500 user partitions read: c000 to c499, in index order
    const written = entryUpdates().map((input) => input.Key?.SK);
    expect(written).toHaveLength(500);
    expect(new Set(written)).toEqual(new Set(contacts.slice(0, 500).map((contact) => `MEMBER#${contact}`)));
    const partitions = ddb
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input.ExpressionAttributeValues?.[':pk'])
      .filter((pk) => typeof pk === 'string');
    expect(partitions).toHaveLength(500);
    expect(partitions).toContain('USER#c499');
    expect(partitions).not.toContain('USER#c500');
  });
});

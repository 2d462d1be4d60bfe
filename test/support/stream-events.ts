/**
 * DynamoDB stream events for the delivery Lambda, built from the real-shaped record fixtures in
 * test/fixtures/ (`stream-*.json`) with the item fields a test needs changed.
 */

import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type ItemKey, keys } from '../../functions/adapters/keys.ts';
import { loadFixture } from './fixtures.ts';

type Item = Record<string, unknown>;
type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

export const streamEvent = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

function edit(
  name: string,
  sequenceNumber: string | undefined,
  keyOf: (item: Item) => ItemKey,
  newImage: Item,
  oldImage?: Item,
): DynamoDBRecord {
  const record = loadFixture<DynamoDBRecord>(name);
  const stream = record.dynamodb ?? {};
  const merged = { ...unmarshall((stream.NewImage ?? {}) as Record<string, AttributeValue>), ...newImage };
  // The keys always follow the item's ids, as DynamoDB's would.
  const key = keyOf(merged);
  stream.Keys = marshall(key) as Image;
  stream.NewImage = marshall({ ...merged, ...key }, { removeUndefinedValues: true }) as Image;
  if (oldImage !== undefined) {
    const old = unmarshall((stream.OldImage ?? {}) as Record<string, AttributeValue>);
    stream.OldImage = marshall({ ...old, ...oldImage, ...key }, { removeUndefinedValues: true }) as Image;
  }
  if (sequenceNumber !== undefined) stream.SequenceNumber = sequenceNumber;
  record.dynamodb = stream;
  return record;
}

/** The INSERT of message `seq` 7 from alice (phone connection `CfQ3bfF3DoECJqQ=`) to bob, or of `fields`. */
export function messageInsert(fields: Item = {}, sequenceNumber?: string): DynamoDBRecord {
  return edit(
    'stream-message-insert',
    sequenceNumber,
    (item) => keys.message(String(item.conversationId), Number(item.seq)),
    fields,
  );
}

/** A MODIFY of message `seq` 7 (an edit, a deletion, a reaction): its new image is `fields` over the insert's. */
export function messageModify(fields: Item = {}, sequenceNumber?: string): DynamoDBRecord {
  return { ...messageInsert(fields, sequenceNumber), eventName: 'MODIFY' };
}

/**
 * The INSERT of the group "Weekend trip" {alice, bob, carol}, created by alice's phone connection
 * `CfQ3bfF3DoECJqQ=`, or of `fields` (a direct conversation: `kind: 'direct'`, no origin, no title).
 */
export function conversationInsert(fields: Item = {}, sequenceNumber?: string): DynamoDBRecord {
  return edit(
    'stream-conversation-insert',
    sequenceNumber,
    (item) => keys.conversation(String(item.conversationId)),
    fields,
  );
}

/** bob's markRead moving his cursor from 5 to 7. */
export function readModify(fields: Item = {}, oldFields: Item = {}, sequenceNumber?: string): DynamoDBRecord {
  return edit(
    'stream-member-read-modify',
    sequenceNumber,
    (item) => keys.member(String(item.conversationId), String(item.userId)),
    fields,
    oldFields,
  );
}

/** The delivery Lambda's own unread bookkeeping on bob's member item (the filter should drop it). */
export function deliveryModify(): DynamoDBRecord {
  return loadFixture<DynamoDBRecord>('stream-member-delivery-modify');
}

/** A connection of `userId` opening (`$connect` put its item), as the stream gives it: their presence. */
export function connectionInsert(userId: string, connectionId: string): DynamoDBRecord {
  const key = keys.connection(userId, connectionId);
  return {
    eventID: randomUUID(),
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: marshall(key) as Image,
      NewImage: marshall({
        ...key,
        type: 'connection',
        userId,
        connectionId,
        connectedAt: new Date().toISOString(),
      }) as Image,
      SequenceNumber: `${Date.now()}${Math.floor(Math.random() * 1000)}`,
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/**
 * DynamoDB stream events for the delivery Lambda, built from the real-shaped record fixtures in
 * test/fixtures/ (`stream-*.json`) with the item fields a test needs changed.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { loadFixture } from './fixtures.ts';

type Item = Record<string, unknown>;
type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

export const streamEvent = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

function edit(
  name: string,
  sequenceNumber: string | undefined,
  newImage: Item,
  oldImage?: Item,
): DynamoDBRecord {
  const record = loadFixture<DynamoDBRecord>(name);
  const stream = record.dynamodb ?? {};
  const current = unmarshall((stream.NewImage ?? {}) as Record<string, AttributeValue>);
  stream.NewImage = marshall({ ...current, ...newImage }, { removeUndefinedValues: true }) as Image;
  if (oldImage !== undefined) {
    const old = unmarshall((stream.OldImage ?? {}) as Record<string, AttributeValue>);
    stream.OldImage = marshall({ ...old, ...oldImage }, { removeUndefinedValues: true }) as Image;
  }
  if (sequenceNumber !== undefined) stream.SequenceNumber = sequenceNumber;
  record.dynamodb = stream;
  return record;
}

/** The INSERT of message `seq` 7 from alice (phone connection `CfQ3bfF3DoECJqQ=`) to bob. */
export function messageInsert(fields: Item = {}, sequenceNumber?: string): DynamoDBRecord {
  const record = edit('stream-message-insert', sequenceNumber, fields);
  const seq = fields.seq;
  if (typeof seq === 'number' && record.dynamodb?.Keys !== undefined) {
    const sk = `MSG#${String(seq).padStart(12, '0')}`;
    record.dynamodb.Keys.SK = { S: sk };
    if (record.dynamodb.NewImage !== undefined) record.dynamodb.NewImage.SK = { S: sk };
  }
  return record;
}

/** bob's markRead moving his cursor from 5 to 7. */
export function readModify(fields: Item = {}, oldFields: Item = {}, sequenceNumber?: string): DynamoDBRecord {
  return edit('stream-member-read-modify', sequenceNumber, fields, oldFields);
}

/** The delivery Lambda's own unread bookkeeping on bob's member item (the filter should drop it). */
export function deliveryModify(): DynamoDBRecord {
  return loadFixture<DynamoDBRecord>('stream-member-delivery-modify');
}

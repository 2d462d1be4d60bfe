/**
 * The delivery Lambda, on the table's stream (see definitions/stream.ts). Records are processed in
 * order: records of one conversation share a partition key and must reach clients in `seq` order. At
 * the first record that fails, that record is reported and the batch stops: Lambda retries from the
 * reported record, so anything after it would be delivered twice if processed now.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { deliverMessage } from '../domain/deliver-message.ts';
import { deliverRead } from '../domain/deliver-read.ts';
import { logger, withLogKeys } from '../shared/logger.ts';
import { toDeliveryEvent } from './records.ts';

export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  for (const record of event.Records) {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    try {
      await withLogKeys({ eventID: record.eventID, sequenceNumber }, () => processRecord(record));
    } catch (error) {
      logger.error('record failed, reporting it for retry', {
        eventID: record.eventID,
        sequenceNumber,
        error,
      });
      // Without a sequence number the failure cannot be pinned to a record: fail the whole batch.
      if (sequenceNumber === undefined) throw error;
      return { batchItemFailures: [{ itemIdentifier: sequenceNumber }] };
    }
  }
  return { batchItemFailures: [] };
}

async function processRecord(record: DynamoDBRecord): Promise<void> {
  const event = toDeliveryEvent(record);
  switch (event.kind) {
    case 'message': {
      const { message } = event;
      await withLogKeys(
        { conversationId: message.conversationId, messageId: message.messageId, seq: message.seq },
        async () => {
          const outcome = await deliverMessage(message, event.senderName);
          logger.info('message delivered', { ...outcome });
        },
      );
      return;
    }
    case 'read': {
      const { read } = event;
      await withLogKeys(
        { conversationId: read.conversationId, readerId: read.userId, seq: read.seq },
        async () => {
          const outcome = await deliverRead(read);
          logger.info('read cursor delivered', { ...outcome });
        },
      );
      return;
    }
    case 'skip':
      if (event.malformed) logger.error('malformed record skipped', { reason: event.reason });
      else logger.debug('record skipped', { reason: event.reason });
  }
}

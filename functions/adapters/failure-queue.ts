/**
 * What delivery gave up on goes to the delivery failure topic, whose subscriber is the stream mapping's
 * on-failure SQS queue (raw message delivery): the queue then holds message identities beside the
 * mapping's own stream pointers. Through SNS rather than an SQS client because delivery already
 * carries the SNS client for push (no second client in its bundle), and more subscribers can be added.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import type { FailedDelivery } from '../delivery/failed-delivery.ts';
import { sns } from '../shared/clients/sns.ts';
import { requiredEnv } from '../shared/env.ts';

const DELIVERY_FAILURE_TOPIC_ARN = requiredEnv('DELIVERY_FAILURE_TOPIC_ARN');

export async function enqueueFailedDelivery(entry: FailedDelivery): Promise<void> {
  await sns.send(
    new PublishCommand({
      TopicArn: DELIVERY_FAILURE_TOPIC_ARN,
      Message: JSON.stringify(entry),
      MessageAttributes: {
        source: { DataType: 'String', StringValue: entry.source },
        class: { DataType: 'String', StringValue: entry.class },
      },
    }),
  );
}

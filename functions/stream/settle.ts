/**
 * What becomes of one stream record after a delivery attempt: done, retried, or recorded in the
 * on-failure queue by message identity (see functions/stream/delivery.ts for the rules).
 */
import { DELIVERY_STREAM } from '../../definitions/stream.ts';
import { type FailureClass, failureClass, httpStatusOf } from '../adapters/aws-errors.ts';
import { countFailedAttempt } from '../adapters/delivery-attempts.ts';
import { enqueueFailedDelivery } from '../adapters/failure-queue.ts';
import { type DeliveryReport, needsRetry } from '../delivery/delivery-report.ts';
import type { FailedDelivery, FailureDetail } from '../delivery/failed-delivery.ts';
import { deliverStored, type StoredEvent } from '../delivery/index.ts';
import { logger } from '../shared/logger.ts';
import { countMetric } from '../shared/metrics.ts';
import { isRedriveRecord } from './records.ts';

const DELIVERED: Record<StoredEvent['kind'], string> = {
  message: 'message delivered',
  read: 'read cursor delivered',
  conversation: 'conversation delivered',
  messageUpdated: 'message update delivered',
  left: 'leave delivered',
  accepted: 'request acceptance delivered',
};

/** The report of a delivery, or the error that stopped it before any target was tried. */
export type Attempt = { report: DeliveryReport } | { error: unknown };

export async function deliverEvent(event: StoredEvent): Promise<Attempt> {
  try {
    const report = await deliverStored(event);
    logger.info(DELIVERED[event.kind], summary(report));
    return { report };
  } catch (error) {
    return { error };
  }
}

export async function settle(
  event: StoredEvent,
  attempt: Attempt,
  eventId: string | undefined,
  now = new Date(),
): Promise<'done' | 'retry'> {
  countTargets(attempt);
  const wholeEvent: FailureClass | undefined = 'error' in attempt ? failureClass(attempt.error) : undefined;
  const retry = wholeEvent === 'transient' || ('report' in attempt && needsRetry(attempt.report));
  const permanent =
    wholeEvent === 'permanent' ||
    ('report' in attempt && attempt.report.failures.some((failure) => failure.kind === 'permanent'));
  if (isRedriveRecord(eventId)) {
    // An operator's redrive (admin/redrive.ts): its queue entry stays until a redelivery
    // succeeds, so any failure is reported back to the tool, neither counted nor recorded again.
    if (!retry && !permanent) return 'done';
    logger.error('redelivery failed; its on-failure queue entry stays', {
      failureClass: retry ? 'transient' : 'permanent',
      ...failureLog(attempt),
    });
    return 'retry';
  }
  if (retry) {
    let attempts: number;
    try {
      attempts = await countFailedAttempt(eventId ?? 'unknown', now);
    } catch (error) {
      logger.error('could not count the delivery attempt; retrying the record', { error });
      return 'retry';
    }
    if (attempts < DELIVERY_STREAM.deliveryAttempts) {
      logger.warn('delivery failed, the record will be retried', {
        attempts,
        failureClass: 'transient',
        ...failureLog(attempt),
      });
      return 'retry';
    }
    return record(entry(event, attempt, 'gave_up', attempts, eventId, now));
  }
  if (permanent) return record(entry(event, attempt, 'permanent', 1, eventId, now));
  return 'done';
}

/** Target failures by class, pushes apart; a record-level failure counts as one delivery failure. */
function countTargets(attempt: Attempt): void {
  if ('error' in attempt) {
    countMetric('DeliveryFailures', { Class: failureClass(attempt.error) });
    return;
  }
  const { report } = attempt;
  for (const kind of ['transient', 'permanent'] as const) {
    const failures = report.failures.filter((failure) => failure.kind === kind);
    const pushes = failures.filter((failure) => failure.deviceId !== undefined).length;
    const connections = failures.length - pushes + (kind === 'transient' ? report.connecting.length : 0);
    if (connections > 0) countMetric('DeliveryFailures', { Class: kind }, connections);
    if (pushes > 0) countMetric('PushFailures', { Class: kind }, pushes);
  }
  if (report.capped > 0) countMetric('FanoutCapped', {}, report.capped);
}

async function record(failed: FailedDelivery): Promise<'done' | 'retry'> {
  try {
    await enqueueFailedDelivery(failed);
    if (failed.class === 'gave_up') countMetric('DeliveryFailures', { Class: 'gave_up' });
  } catch (error) {
    logger.error('could not record the failed delivery in the on-failure queue; retrying the record', {
      error,
    });
    return 'retry';
  }
  logger.error('delivery recorded in the on-failure queue', {
    failureClass: failed.class,
    attempts: failed.attempts,
    recipients: failed.recipients,
    failures: failed.failures,
  });
  return 'done';
}

function entry(
  event: StoredEvent,
  attempt: Attempt,
  kind: FailedDelivery['class'],
  attempts: number,
  eventId: string | undefined,
  now: Date,
): FailedDelivery {
  const failures: FailureDetail[] =
    'error' in attempt
      ? [{ class: failureClass(attempt.error), ...describe(attempt.error) }]
      : [
          ...attempt.report.failures.map(
            (failure): FailureDetail => ({
              userId: failure.userId,
              ...(failure.connectionId !== undefined && { connectionId: failure.connectionId }),
              ...(failure.deviceId !== undefined && { deviceId: failure.deviceId }),
              class: failure.kind,
              ...describe(failure.error),
            }),
          ),
          ...attempt.report.connecting.map(
            (connection): FailureDetail => ({
              userId: connection.userId,
              connectionId: connection.connectionId,
              class: 'connecting',
              error: 'GoneException',
              status: 410,
            }),
          ),
        ];
  const recipients = [...new Set(failures.flatMap((failure) => (failure.userId ? [failure.userId] : [])))];
  return {
    version: 1,
    source: 'parley.delivery',
    class: kind,
    ...identityOf(event),
    recipients,
    failures,
    attempts,
    eventId,
    recordedAt: now.toISOString(),
  };
}

/** What names the stored event, so it can be delivered again from the table. */
function identityOf(
  event: StoredEvent,
): Pick<
  FailedDelivery,
  'kind' | 'conversationId' | 'seq' | 'messageId' | 'readerId' | 'leaverId' | 'acceptorId'
> {
  switch (event.kind) {
    case 'message':
      return {
        kind: 'message',
        conversationId: event.message.conversationId,
        seq: event.message.seq,
        messageId: event.message.messageId,
      };
    case 'read':
      return {
        kind: 'read',
        conversationId: event.read.conversationId,
        seq: event.read.seq,
        readerId: event.read.userId,
      };
    case 'messageUpdated':
      // Redelivered from the message item as it is then: the newest state is all anyone needs.
      return {
        kind: 'messageUpdated',
        conversationId: event.update.conversationId,
        seq: event.update.seq,
        messageId: event.update.messageId,
      };
    case 'conversation':
      // One creation per conversation: its id is all it takes.
      return { kind: 'conversation', conversationId: event.conversation.conversationId };
    case 'left':
      // Redelivered only while the user is still out (functions/delivery/deliver-left.ts).
      return { kind: 'left', conversationId: event.conversationId, leaverId: event.userId };
    case 'accepted':
      // Redelivered only while presence may flow between the two (functions/delivery/deliver-accepted.ts).
      return { kind: 'accepted', conversationId: event.conversationId, acceptorId: event.userId };
  }
}

/** Error name and HTTP status only: SDK messages can quote request data. */
function describe(error: unknown): { error: string; status?: number } {
  const name = error instanceof Error ? error.name : typeof error;
  const status = httpStatusOf(error);
  return status === undefined ? { error: name } : { error: name, status };
}

function failureLog(attempt: Attempt): Record<string, unknown> {
  if ('error' in attempt) return { error: attempt.error };
  return {
    ...summary(attempt.report),
    failures: attempt.report.failures.map((failure) => ({
      userId: failure.userId,
      connectionId: failure.connectionId,
      deviceId: failure.deviceId,
      failureClass: failure.kind,
      ...describe(failure.error),
    })),
  };
}

function summary(report: DeliveryReport): Record<string, number> {
  return {
    sent: report.sent,
    gone: report.gone,
    connecting: report.connecting.length,
    failed: report.failures.length,
    pushed: report.pushed,
    alreadyPushed: report.alreadyPushed,
    devicesRemoved: report.devicesRemoved,
    capped: report.capped,
  };
}

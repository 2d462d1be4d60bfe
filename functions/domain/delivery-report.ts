/**
 * What delivering one stored event achieved, in a shape the stream handler can act on: which targets
 * failed and how (transient: retry the record; permanent: record it and move on), and which
 * connections were still inside `$connect` (retry the record: they open in a moment).
 */
import type { FailureClass } from '../adapters/aws-errors.ts';
import type { Connection } from './model.ts';

/**
 * A recipient one of whose connections took a message: its sender gets `delivered`
 * (functions/domain/delivered-receipts.ts sends one per conversation and recipient for a batch).
 * Declared here, with the other report types, so that fanout.ts and delivered-receipts.ts both import
 * this module and neither imports the other's dependents (no import cycle).
 */
export interface DeliveredNotice {
  conversationId: string;
  recipientId: string;
  seq: number;
  /** The connections of the message's sender (all of them: the sending one wants to know too). */
  senderConnections: readonly Connection[];
}

export interface TargetFailure {
  userId: string;
  /** The connection that could not be posted to, for connection failures. */
  connectionId?: string;
  /** The device that could not be pushed to, for push failures. */
  deviceId?: string;
  kind: FailureClass;
  error: unknown;
}

export interface DeliveryReport {
  /** Frames posted. */
  sent: number;
  /** Closed connections removed. */
  gone: number;
  connecting: Connection[];
  failures: TargetFailure[];
  /** Pushes published, pushes skipped because this (message, device) was already pushed, devices removed. */
  pushed: number;
  alreadyPushed: number;
  devicesRemoved: number;
  /** Connections and devices left out by the per-user caps (and cleaned up). */
  capped: number;
  /** Recipients a connection of whom took the message: their senders get `delivered`. */
  delivered: DeliveredNotice[];
}

const emptyReport = (): DeliveryReport => ({
  sent: 0,
  gone: 0,
  connecting: [],
  failures: [],
  pushed: 0,
  alreadyPushed: 0,
  devicesRemoved: 0,
  capped: 0,
  delivered: [],
});

/** The report of a fan-out alone (reads, conversations): what the posts achieved. */
export const reportOf = (
  fanout: Pick<DeliveryReport, 'sent' | 'gone' | 'connecting' | 'failures'>,
): DeliveryReport => ({
  ...emptyReport(),
  sent: fanout.sent,
  gone: fanout.gone,
  connecting: fanout.connecting,
  failures: [...fanout.failures],
});

/** The record must be tried again: a target may still succeed. */
export const needsRetry = (report: DeliveryReport): boolean =>
  report.connecting.length > 0 || report.failures.some((failure) => failure.kind === 'transient');

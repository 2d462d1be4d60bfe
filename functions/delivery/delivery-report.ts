/**
 * What delivering achieved, in shapes the stream handler can act on: which targets failed and how
 * (transient: retry the record; permanent: record it and move on), and which connections were still
 * inside `$connect` (retry the record: they open in a moment). Every report type of delivery is here,
 * and this module imports no other of delivery's, so each of them can import it without a cycle.
 */
import type { FailureClass } from '../adapters/aws-errors.ts';
import type { Connection } from '../domain/model.ts';

/**
 * A recipient one of whose connections took a message: its sender gets `delivered`
 * (delivered-receipts.ts sends one per conversation and recipient for a batch).
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

/** What one frame's posts to many connections achieved (fanout.ts). */
export interface FanoutResult {
  sent: number;
  /** Closed connections whose items were deleted. */
  gone: number;
  /** Connections still inside `$connect` after the waits: kept, and worth a retry. */
  connecting: Connection[];
  failures: TargetFailure[];
  /** Users with at least one connection that received the frame. */
  reached: Set<string>;
}

/** What one recipient's pushes achieved (push.ts). */
export interface PushOutcome {
  pushed: number;
  /** Devices that already had this message's push from an earlier attempt of the record. */
  alreadyPushed: number;
  devicesRemoved: number;
  failures: TargetFailure[];
}

/** What one connection's opening or closing told the user's contacts (deliver-presence.ts). */
export interface PresenceReport {
  change: 'online' | 'offline' | 'none';
  contacts: number;
  posted: number;
}

/** What delivering one stored event achieved. */
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

/**
 * The one way delivery sends a frame to people: every connection of every reachable user of the
 * audience (a conversation's members, a leaver, a user's contacts), within the per-user caps, but the
 * connection that caused the event when it already has the frame as its answer. Deactivated users get
 * nothing. Failures are reported, never thrown: the caller decides what a failure means.
 */
import type { UserDirectoryEntry } from '../adapters/user-directory.ts';
import { removeDeadDevice } from '../domain/devices.ts';
import type { ServerFrame } from '../domain/frames.ts';
import { isReachable } from './audience.ts';
import { type DeliveryReport, type FanoutResult, reportOf } from './delivery-report.ts';
import { type FrameFor, sendToConnections } from './fanout.ts';
import { capUser, dropExcess } from './per-user-caps.ts';

export interface MembersDelivery {
  /** Who is to get the frame, as the delivery read them. */
  readonly audience: readonly UserDirectoryEntry[];
  /** The frame, or each user's own (protocol.md 1.2: a message is hidden from who blocks its sender). */
  readonly frame: ServerFrame | ((userId: string) => ServerFrame);
  /** The connection that caused the event and was answered with it (a message's sender, a group's creator). */
  readonly skipConnectionId?: string | undefined;
  /** Stored events wait for a connection still inside `$connect`; presence, being ephemeral, does not. */
  readonly waitForConnecting: boolean;
  readonly now?: number;
  /**
   * Close and remove the connections and devices the caps leave out, while the frame is posted:
   * message delivery does, every other delivery only respects the caps.
   */
  readonly enforceCaps?: boolean;
}

export interface MembersOutcome {
  /** What the posts achieved, with `capped` counting what enforceCaps removed. */
  readonly report: DeliveryReport;
  /** Users with at least one connection that received the frame. */
  readonly reached: FanoutResult['reached'];
  /** The audience within the caps, deactivated users included (their unread counts are still kept). */
  readonly members: UserDirectoryEntry[];
}

export async function deliverToMembers(delivery: MembersDelivery): Promise<MembersOutcome> {
  const capped = delivery.audience.map(capUser);
  const members = capped.map((user) => user.entry);
  const connections = members
    .filter(isReachable)
    .flatMap((entry) => entry.connections)
    .filter((connection) => connection.connectionId !== delivery.skipConnectionId);
  const [fanout, dropped] = await Promise.all([
    sendToConnections(connections, frameFor(delivery.frame), {
      waitForConnecting: delivery.waitForConnecting,
      ...(delivery.now !== undefined && { now: delivery.now }),
    }),
    delivery.enforceCaps === true ? dropExcess(capped, removeDeadDevice) : 0,
  ]);
  return { report: { ...reportOf(fanout), capped: dropped }, reached: fanout.reached, members };
}

const frameFor = (frame: MembersDelivery['frame']): FrameFor =>
  typeof frame === 'function' ? (connection) => frame(connection.userId) : frame;

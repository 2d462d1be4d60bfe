/**
 * What the on-failure queue holds for a delivery that could not be completed: the identity of the
 * stored event (conversation, `seq` for messages and reads, and who was not reached), never a stream pointer, so it can be
 * redelivered at any age from the table, where the message stays (architecture.md, guarantee 3).
 */
import type { FailureClass } from '../adapters/aws-errors.ts';

export interface FailedDelivery {
  /** Format version of this entry, for the redrive tool. */
  readonly version: 1;
  readonly source: 'parley.delivery';
  /** `permanent`: no retry could succeed; `gave_up`: transient failures outlasted the retries. */
  readonly class: Exclude<FailureClass, 'transient'> | 'gave_up';
  /**
   * `conversation`: the conversation's creation (its `conversation` frame to the members);
   * `messageUpdated`: an edit, deletion or reaction of the message at `seq`; `left`: a member's leave
   * (the `left` frame to their connections); `accepted`: a message request accepted (the two users'
   * presence to each other).
   */
  readonly kind: 'message' | 'read' | 'conversation' | 'messageUpdated' | 'left' | 'accepted';
  readonly conversationId: string;
  /** For `message`, `messageUpdated` and `read`; a `conversation` is named by its id alone. */
  readonly seq?: number;
  /** For `message` and `messageUpdated`. */
  readonly messageId?: string;
  /** For `read`: whose cursor moved. */
  readonly readerId?: string;
  /** For `left`: who left. */
  readonly leaverId?: string;
  /** For `accepted`: who accepted. */
  readonly acceptorId?: string;
  /** Users some connection or device of whom was not reached; empty when the whole event failed. */
  readonly recipients: readonly string[];
  readonly failures: readonly FailureDetail[];
  readonly attempts: number;
  /** The stream record, for correlation with logs (it expires after 24 hours; nothing depends on it). */
  readonly eventId: string | undefined;
  readonly recordedAt: string;
}

export interface FailureDetail {
  readonly userId?: string;
  readonly connectionId?: string;
  readonly deviceId?: string;
  readonly class: FailureClass | 'connecting';
  /** Error name and HTTP status: never message content or tokens. */
  readonly error: string;
  readonly status?: number;
}

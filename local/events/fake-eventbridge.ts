/**
 * Amazon EventBridge's PutEvents as far as Parley uses it, answering the events function's real SDK
 * client (AWS JSON 1.1: `X-Amz-Target: AWSEvents.PutEvents`), and recording what it accepts for
 * `GET /_local/events` instead of routing it to rules. Like EventBridge: at most 10 entries a call,
 * entries under 256 KB together (else the whole call is refused), and each entry judged on its own
 * (`FailedEntryCount`, an `ErrorCode` per refused entry): a Source, DetailType and Detail are needed,
 * the Detail must be a JSON object. Unlike EventBridge, which accepts an entry for a bus that does not
 * exist and drops it (silently: a known trap), an entry for another bus than the stack's is refused,
 * so that a misconfigured function shows at once.
 */
import { randomUUID } from 'node:crypto';
import { PUT_EVENTS_LIMITS } from '../../definitions/events.ts';
import { localLog } from '../log.ts';

/** One event as `GET /_local/events` shows it. */
export interface RecordedEvent {
  /** The detail's `id` (Parley's, stable across retries), or EventBridge's own id when it has none. */
  readonly id: string;
  readonly source: string;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
  /** The entry's Time, or when it was put. */
  readonly time: string;
}

export interface JsonReply {
  readonly statusCode: number;
  readonly body: string;
}

interface RequestEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Time?: unknown;
  Resources?: unknown;
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

export class FakeEventBridge {
  readonly #busName: string;
  readonly #events: RecordedEvent[] = [];

  constructor(busName: string) {
    this.#busName = busName;
  }

  get busName(): string {
    return this.#busName;
  }

  /** Oldest first; an event put twice (a retried record) shows twice, as a rule's target would see it. */
  events(): readonly RecordedEvent[] {
    return this.#events;
  }

  clear(): void {
    this.#events.length = 0;
  }

  /** Answers one request of the AWS JSON 1.1 protocol. */
  handle(target: string | undefined, body: string): JsonReply {
    if (target !== 'AWSEvents.PutEvents') {
      return error(
        400,
        'UnknownOperationException',
        `The local EventBridge answers PutEvents only, not ${target ?? '(none)'}`,
      );
    }
    let request: { Entries?: unknown };
    try {
      request = JSON.parse(body) as { Entries?: unknown };
    } catch {
      return error(400, 'SerializationException', 'The request body is not JSON');
    }
    const entries = request.Entries;
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > PUT_EVENTS_LIMITS.entries) {
      return error(
        400,
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${PUT_EVENTS_LIMITS.entries}`,
      );
    }
    const total = (entries as RequestEntry[]).reduce((sum, entry) => sum + entrySize(entry), 0);
    if (total >= PUT_EVENTS_LIMITS.bytes) {
      return error(400, 'ValidationException', 'Total size of the entries in the request is over the limit.');
    }
    const results = (entries as RequestEntry[]).map((entry) => this.#put(entry));
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    return { statusCode: 200, body: JSON.stringify({ FailedEntryCount: failed, Entries: results }) };
  }

  #put(entry: RequestEntry): EntryResult {
    const { Source, DetailType, Detail } = entry;
    if (typeof Source !== 'string' || Source === '')
      return refused('InvalidArgument', 'Parameter Source is not valid.');
    if (typeof DetailType !== 'string' || DetailType === '') {
      return refused('InvalidArgument', 'Parameter DetailType is not valid.');
    }
    if (typeof Detail !== 'string') return refused('InvalidArgument', 'Parameter Detail is not valid.');
    const busName =
      typeof entry.EventBusName === 'string' && entry.EventBusName !== '' ? entry.EventBusName : 'default';
    if (busName !== this.#busName && !busName.endsWith(`:event-bus/${this.#busName}`)) {
      return refused(
        'NotFoundException',
        `Event bus ${busName} does not exist in the local stack (only ${this.#busName}).`,
      );
    }
    let detail: unknown;
    try {
      detail = JSON.parse(Detail);
    } catch {
      return refused('MalformedDetail', 'Detail is malformed.');
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return refused('MalformedDetail', 'Detail is malformed.');
    }
    const eventId = randomUUID();
    const record = detail as Record<string, unknown>;
    const event: RecordedEvent = {
      id: typeof record.id === 'string' ? record.id : eventId,
      source: Source,
      detailType: DetailType,
      detail: record,
      time: timeOf(entry.Time),
    };
    this.#events.push(event);
    localLog.info(`event ${event.detailType} ${event.id}`);
    return { EventId: eventId };
  }
}

/** The SDK sends Time as epoch seconds (AWS JSON's timestamp format). */
function timeOf(value: unknown): string {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : new Date().toISOString();
}

/** EventBridge's count: Time 14 bytes, the texts their UTF-8 bytes. */
function entrySize(entry: RequestEntry): number {
  const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0);
  const resources = Array.isArray(entry.Resources) ? entry.Resources : [];
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    resources.reduce((sum: number, resource: unknown) => sum + bytes(resource), 0)
  );
}

function refused(code: string, message: string): EntryResult {
  return { ErrorCode: code, ErrorMessage: message };
}

function error(statusCode: number, type: string, message: string): JsonReply {
  return { statusCode, body: JSON.stringify({ __type: type, message }) };
}

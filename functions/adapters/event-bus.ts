/**
 * The stack's EventBridge bus (definitions/events.ts): one PutEvents call per batch of entries. Each
 * entry's outcome is its own (PutEvents answers 200 with `FailedEntryCount` and an `ErrorCode` per
 * failed entry); functions/events/publish.ts retries those.
 */
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_BUS_ENV, EVENT_SOURCE } from '../../definitions/events.ts';
import type { ParleyEvent } from '../events/records.ts';
import { eventBridge } from '../shared/clients/eventbridge.ts';
import { requiredEnv } from '../shared/env.ts';

const EVENT_BUS_NAME = requiredEnv(EVENT_BUS_ENV);

/** Undefined when the entry was put; otherwise EventBridge's `ErrorCode` for it. */
export type EntryOutcome = string | undefined;

export function toEntry(event: Pick<ParleyEvent, 'detailType' | 'time' | 'detail'>): PutEventsRequestEntry {
  return {
    EventBusName: EVENT_BUS_NAME,
    Source: EVENT_SOURCE,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    ...(event.time !== undefined && { Time: new Date(event.time) }),
  };
}

/** How EventBridge counts an entry against its 256 KB: Time 14 bytes, the texts their UTF-8 bytes. */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (value: string | undefined) => (value === undefined ? 0 : Buffer.byteLength(value, 'utf8'));
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

/** One PutEvents of up to 10 entries: each entry's outcome, in order. Throws when the call itself fails. */
export async function putEntries(entries: readonly PutEventsRequestEntry[]): Promise<EntryOutcome[]> {
  const { Entries = [] } = await eventBridge.send(new PutEventsCommand({ Entries: [...entries] }));
  return entries.map((_, index) => {
    const result = Entries[index];
    if (result?.ErrorCode !== undefined) return result.ErrorCode;
    // An answer without this entry's EventId is no proof that it was put.
    return result?.EventId === undefined ? 'NoEventId' : undefined;
  });
}

/**
 * `GET /_local/stream`: what the stream pipeline has in flight, so that a test, a chaos run or an
 * operator of the local stack can wait until nothing more can come out of it (deliveries, pushes,
 * on-failure entries) instead of guessing from a quiet spell. Answers once every shard being read has
 * done one GetRecords that started after the request (about 25 ms):
 * `{ idle, shards: [{ shardId, status, lastSequenceNumber, caughtUp, queuedRecords, invoking,
 * retrying, attempts, discardedBatches }], undiscoveredShards, cutInvocations }`.
 * `idle` is true when no shard is behind, nothing read is undelivered, no batch is being handled or
 * waiting for a retry, and no timed-out invocation (fault injection) is still running; and the same
 * holds for the events consumer (definitions/events.ts), whose own status is under `events` (its own
 * poller: a second event source mapping, with its own place in each shard).
 */
import type { CutInvocations } from '../faults/delivery-faults.ts';
import { json, type LocalRoutes } from '../http/local-routes.ts';
import type { StreamPoller, StreamStatus } from './stream-poller.ts';

export interface PipelineStatus extends StreamStatus {
  /** Invocations cut by an injected timeout whose handler still runs in the background. */
  readonly cutInvocations: number;
  /** The events consumer's poller, when the stack runs one (its handlers include `eventsConsumer`). */
  readonly events?: StreamStatus;
}

export async function pipelineStatus(
  poller: StreamPoller,
  cut: CutInvocations,
  eventsPoller?: StreamPoller,
): Promise<PipelineStatus> {
  const [stream, events] = await Promise.all([poller.status(), eventsPoller?.status()]);
  return {
    ...stream,
    idle: stream.idle && cut.running === 0 && (events?.idle ?? true),
    cutInvocations: cut.running,
    ...(events !== undefined && { events }),
  };
}

export function addStreamRoute(
  routes: LocalRoutes,
  poller: StreamPoller,
  cut: CutInvocations,
  eventsPoller?: StreamPoller,
): void {
  routes.add('GET', '/_local/stream', async () => json(200, await pipelineStatus(poller, cut, eventsPoller)));
}

/** One line for people: idle, or what keeps the pipeline busy (`npm run admin -- failures|redrive --local`). */
export function describePipeline(status: PipelineStatus): string {
  if (status.idle) return 'stream: idle (every record written so far is delivered or in this queue)';
  const sum = (pick: (shard: PipelineStatus['shards'][number]) => number) =>
    status.shards.reduce((total, shard) => total + pick(shard), 0);
  const attempts = Math.max(0, ...status.shards.map((shard) => shard.attempts));
  const parts = [
    `${sum((s) => s.invoking)} batch(es) being delivered`,
    `${sum((s) => s.retrying)} waiting for a retry${attempts > 0 ? ` (failed ${attempts} time(s) so far)` : ''}`,
    `${sum((s) => s.queuedRecords)} record(s) read and not yet delivered`,
  ];
  const behind = status.shards.filter((s) => s.caughtUp === false || s.status === 'waiting').length;
  if (behind > 0) parts.push(`${behind} shard(s) not read to the end`);
  if (status.undiscoveredShards > 0) parts.push(`${status.undiscoveredShards} shard(s) not picked up yet`);
  if (status.cutInvocations > 0) parts.push(`${status.cutInvocations} timed-out invocation(s) still running`);
  if (status.events !== undefined && !status.events.idle) parts.push('events not yet published');
  return `stream: busy: ${parts.join(', ')}; more entries may still arrive (run this again once it is idle)`;
}

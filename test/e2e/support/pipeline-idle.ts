/**
 * Waits until the local stack's stream pipeline is idle (`GET /_local/stream`, local/stream/stream-route.ts):
 * every record written before has been delivered or given up, nothing is waiting for a retry, and no
 * cut invocation still runs. A test that needs asynchronous delivery to be over waits on this instead of
 * a sleep or a quiet spell; past the deadline it fails with what was still in flight.
 */
import { describePipeline, type PipelineStatus } from '../../../local/stream/stream-route.ts';

export async function pipelineIdle(httpUrl: string, deadlineMs = 120_000): Promise<PipelineStatus> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const response = await fetch(`${httpUrl}/_local/stream`);
    if (!response.ok) throw new Error(`/_local/stream answered ${response.status}: ${await response.text()}`);
    const status = (await response.json()) as PipelineStatus;
    if (status.idle) return status;
    if (Date.now() > deadline) {
      throw new Error(`still busy after ${deadlineMs} ms: ${describePipeline(status)}`);
    }
    // Each answer already waited for a fresh read of every shard: no pause is needed between them.
  }
}

/**
 * The local stack's delivery failure queue, as the on-failure SQS queue is in AWS: what the delivery
 * handler publishes to the failure topic (message identities), and the stream pointers of batches
 * the poller gave up (as the event source mapping does), kept in memory and readable over
 * `GET /_local/delivery-failures` (`DELETE` empties it).
 */
import { json, type LocalRoutes, noContent } from '../http/local-routes.ts';

export interface QueuedFailure {
  readonly body: string;
  readonly queuedAt: string;
}

export class LocalFailureQueue {
  readonly #entries: QueuedFailure[] = [];

  add(body: string): void {
    this.#entries.push({ body, queuedAt: new Date().toISOString() });
  }

  entries(): readonly QueuedFailure[] {
    return [...this.#entries];
  }

  purge(): void {
    this.#entries.length = 0;
  }
}

export function addFailureQueueRoutes(routes: LocalRoutes, queue: LocalFailureQueue): void {
  routes
    .add('GET', '/_local/delivery-failures', () =>
      json(
        200,
        queue.entries().map((entry) => ({ ...parse(entry.body), queuedAt: entry.queuedAt })),
      ),
    )
    .add('DELETE', '/_local/delivery-failures', () => {
      queue.purge();
      return noContent;
    });
}

function parse(body: string): Record<string, unknown> {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return { body };
  }
}

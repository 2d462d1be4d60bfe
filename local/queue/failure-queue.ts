/**
 * The local stack's delivery failure queue, as the on-failure SQS queue is in AWS: what the delivery
 * handler publishes to the failure topic (message identities), and the stream pointers of batches
 * the poller gave up (as the event source mapping does), kept in memory and readable over
 * `GET /_local/delivery-failures` (each with its `entryId` and `queuedAt`; `DELETE` empties it).
 * `POST /_local/delivery-failures/redrive` redelivers them (redrive-route.ts).
 */
import { randomUUID } from 'node:crypto';
import { json, type LocalRoutes, noContent } from '../http/local-routes.ts';

export interface QueuedFailure {
  readonly id: string;
  readonly body: string;
  readonly queuedAt: string;
}

export class LocalFailureQueue {
  readonly #entries: QueuedFailure[] = [];

  add(body: string): void {
    this.#entries.push({ id: randomUUID(), body, queuedAt: new Date().toISOString() });
  }

  entries(): readonly QueuedFailure[] {
    return [...this.#entries];
  }

  /** False when no entry has this id (already removed). */
  remove(id: string): boolean {
    const index = this.#entries.findIndex((entry) => entry.id === id);
    if (index < 0) return false;
    this.#entries.splice(index, 1);
    return true;
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
        queue
          .entries()
          .map((entry) => ({ ...parse(entry.body), queuedAt: entry.queuedAt, entryId: entry.id })),
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

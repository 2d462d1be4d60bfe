/**
 * The delivery Lambda dying in the middle of a batch, as the stream poller sees it: the invocation
 * fails with no response, so the event source mapping retries the batch (bisecting it, with the
 * stack's retry settings) and records already handled are handled again.
 * - `delivery-crash`: the real handler runs on the first half of the batch (rounded up: a batch of one
 *   is handled, then lost) and the runtime exits before answering (`Runtime.ExitError`).
 * - `delivery-timeout`: the real handler runs on the whole batch and the invocation times out after a
 *   short random delay (0–50 ms, from the plan's seeded generator), whether it has finished or not
 *   (`Sandbox.Timedout`). What it did until then stands. Lambda would then stop it; here it cannot be
 *   stopped in the middle of a call, so from the deadline on its context reports no time left, and the
 *   handler's own time check starts no further record: at most the records in flight at the deadline
 *   complete in the background.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { StreamHandler } from '../handlers.ts';
import { localLog } from '../log.ts';
import type { FaultPlan } from './fault-plan.ts';

/** The latest moment a timed-out invocation is cut, after it starts. */
export const MAX_TIMEOUT_DELAY_MS = 50;

export type InvokeDelivery = (records: DynamoDBRecord[]) => Promise<DynamoDBBatchResponse | undefined>;

/** Lambda's error for an invocation that failed without an answer, as the poller logs it. */
class InvocationFailure extends Error {
  override readonly name: 'Runtime.ExitError' | 'Sandbox.Timedout';
  constructor(name: InvocationFailure['name'], message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * Timed-out invocations whose handler still runs: they can still write, post and record failures, so
 * the stream is not idle until they end (`GET /_local/stream` counts them).
 */
export class CutInvocations {
  #running = 0;

  get running(): number {
    return this.#running;
  }

  track(handling: Promise<unknown>): void {
    this.#running += 1;
    handling.finally(() => {
      this.#running -= 1;
    });
  }
}

export function withDeliveryFaults(
  plan: FaultPlan,
  handler: StreamHandler,
  context: () => Context,
  cut = new CutInvocations(),
): InvokeDelivery {
  return async (records) => {
    if (plan.next('delivery-crash')) {
      const handled = Math.ceil(records.length / 2);
      localLog.info(`fault: delivery crashes after ${handled} of ${records.length} records (injected)`);
      await handler({ Records: records.slice(0, handled) }, context()).catch(() => undefined);
      throw new InvocationFailure(
        'Runtime.ExitError',
        `Runtime exited without providing a reason (injected crash after ${handled} of ${records.length} records)`,
      );
    }
    if (plan.next('delivery-timeout')) {
      const delayMs = Math.floor(plan.random() * MAX_TIMEOUT_DELAY_MS);
      localLog.info(`fault: delivery of ${records.length} records times out after ${delayMs} ms (injected)`);
      const base = context();
      const deadline = Date.now() + delayMs;
      const cutContext: Context = {
        ...base,
        getRemainingTimeInMillis: () => (Date.now() < deadline ? base.getRemainingTimeInMillis() : 0),
      };
      const running = handler({ Records: records }, cutContext).then(
        () => undefined,
        () => undefined,
      );
      cut.track(running);
      await Promise.race([running, sleep(delayMs)]);
      throw new InvocationFailure('Sandbox.Timedout', `Task timed out after ${delayMs} ms (injected)`);
    }
    return handler({ Records: records }, context());
  };
}

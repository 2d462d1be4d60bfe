import { describe, expect, it } from 'vitest';
import { mapConcurrently } from '../../../functions/shared/concurrency.ts';

/** A call that stays in flight until the test releases it. */
function gate() {
  let release: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { done, release };
}

describe('mapConcurrently', () => {
  it('never has more than `limit` calls in flight, and tries every item', async () => {
    const gates = Array.from({ length: 40 }, gate);
    let inFlight = 0;
    let most = 0;
    const running = mapConcurrently(gates, 16, async (g, index) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await g.done;
      inFlight -= 1;
      return index;
    });
    // Release one call at a time, letting the pool start the next before the following release.
    for (const g of gates) {
      g.release();
      await Promise.resolve();
      await Promise.resolve();
    }
    expect(await running).toEqual(gates.map((_, index) => index));
    expect(most).toBe(16);
  });

  it('answers an empty list without calling anything', async () => {
    expect(await mapConcurrently([], 4, async () => 1)).toEqual([]);
  });
});

/** Reconnect delays: full jitter under an exponential ceiling, capped, reset after a stable connection. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../client/src/backoff.ts';

describe('Backoff', () => {
  it('doubles the ceiling per attempt up to the cap, and resets', () => {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 }, () => 0.5);
    const ceilings: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      ceilings.push(backoff.ceilingMs);
      backoff.next();
    }
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    backoff.reset();
    expect(backoff.ceilingMs).toBe(500);
  });

  it('draws every delay uniformly between 0 and the ceiling (full jitter)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempts, random) => {
          const backoff = new Backoff({ initialMs: 250, maxMs: 20_000 }, () => random);
          for (let i = 0; i < attempts; i += 1) backoff.next();
          const ceiling = Math.min(20_000, 250 * 2 ** attempts);
          const delay = backoff.next();
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(ceiling);
          expect(delay).toBe(Math.floor(random * ceiling));
        },
      ),
    );
  });

  it('spreads clients that lost their connection at the same moment', () => {
    const delays = Array.from({ length: 1000 }, () => new Backoff({ initialMs: 1000 }).next());
    // Uniform on [0, 1000): every tenth of the range gets some, none gets most.
    const buckets = new Array<number>(10).fill(0);
    for (const delay of delays)
      buckets[Math.floor(delay / 100)] = (buckets[Math.floor(delay / 100)] ?? 0) + 1;
    for (const count of buckets) {
      expect(count).toBeGreaterThan(30);
      expect(count).toBeLessThan(200);
    }
  });
});

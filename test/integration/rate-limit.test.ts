/**
 * The per-user rate limiter against DynamoDB Local, with four "containers" (each its own limiter with
 * its own hints, as four Lambda containers would be) sharing one bucket. Time is passed in, not read
 * from the clock, so that what is tested is the arithmetic and the conditions, never the machine's
 * speed: together they let through at most burst + rate × elapsed, a paced user is never refused, and
 * a refused request that waits retryAfterMs gets in.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAdmit } from '../../functions/adapters/rate-buckets.ts';

const LIMIT = { intervalMs: 100, burst: 10 }; // 10 a second
const START = 1_800_000_000_000;
/** Each container's clock stays behind the `now` every request brings, so that only simulated time passes. */
const containers = () => Array.from({ length: 4 }, () => createAdmit(() => 0));

describe('the rate limiter across four containers', () => {
  it('lets through at most burst + rate × elapsed, however hard they are pushed together', async () => {
    const user = `flood-${randomUUID()}`;
    const admits = containers();
    let allowed = 0;
    let refused = 0;
    // Three seconds, a round every 50 ms in which each container sends 3 requests at once: 240 a second.
    for (let round = 0; round <= 60; round++) {
      const now = START + round * 50;
      const answers = await Promise.all(
        admits.flatMap((admit) => [1, 2, 3].map(() => admit(user, 'sendMessage', LIMIT, now))),
      );
      allowed += answers.filter((answer) => answer.allowed).length;
      refused += answers.filter((answer) => !answer.allowed).length;
    }
    // 10 at once, then 10 a second for 3 s.
    expect(allowed).toBeLessThanOrEqual(10 + 30);
    // and nearly all of that allowance is used: the limiter does not starve a busy user either
    expect(allowed).toBeGreaterThanOrEqual(10 + 30 - 4);
    expect(allowed + refused).toBe(61 * 12);
  });

  it('never refuses a user who stays within the rate, whichever container takes each request', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ gapMs: fc.integer({ min: 100, max: 400 }), container: fc.nat(3) }), {
          minLength: 5,
          maxLength: 40,
        }),
        async (schedule) => {
          const user = `paced-${randomUUID()}`;
          const admits = containers();
          let now = START;
          for (const { gapMs, container } of schedule) {
            now += gapMs;
            const answer = await admits[container]?.(user, 'sendMessage', LIMIT, now);
            expect(answer).toEqual({ allowed: true });
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('lets a burst in at once after a quiet spell, and a refused request in after retryAfterMs', async () => {
    const user = `burst-${randomUUID()}`;
    const [first, second] = containers();
    if (first === undefined || second === undefined) throw new Error('no containers');

    const burst = await Promise.all(
      Array.from({ length: 10 }, () => first(user, 'sendMessage', LIMIT, START)),
    );
    expect(burst.every((answer) => answer.allowed)).toBe(true);

    const eleventh = await second(user, 'sendMessage', LIMIT, START);
    expect(eleventh).toEqual({ allowed: false, retryAfterMs: 100 });
    const retryAt = START + (eleventh.allowed ? 0 : eleventh.retryAfterMs);
    expect(await second(user, 'sendMessage', LIMIT, retryAt - 1)).toMatchObject({ allowed: false });
    expect(await second(user, 'sendMessage', LIMIT, retryAt)).toEqual({ allowed: true });
  });

  it('keeps separate buckets per user and per action', async () => {
    const [admit] = containers();
    if (admit === undefined) throw new Error('no container');
    const [ann, ben] = [`ann-${randomUUID()}`, `ben-${randomUUID()}`];
    for (let i = 0; i < 10; i++) await admit(ann, 'sendMessage', LIMIT, START);

    expect(await admit(ann, 'sendMessage', LIMIT, START)).toMatchObject({ allowed: false });
    expect(await admit(ben, 'sendMessage', LIMIT, START)).toEqual({ allowed: true });
    expect(await admit(ann, 'typing', LIMIT, START)).toEqual({ allowed: true });
  });
});

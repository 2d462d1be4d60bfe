/** The percentile math behind the benchmark's latency and cold-start figures (bench/stats.ts). */
import { describe, expect, it } from 'vitest';
import { median, percentile, summarize } from '../../../bench/stats.ts';

const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

describe('percentile (nearest rank)', () => {
  it.each([
    [50, 50],
    [95, 95],
    [99, 99],
    [100, 100],
    [0.5, 1],
  ])('gives p%s of 1..100 as %i', (p, value) => {
    expect(percentile(oneToHundred, p)).toBe(value);
  });

  it('always answers a measured value, never an interpolation', () => {
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30], 99)).toBe(30);
  });

  it('sorts its input without changing it', () => {
    const values = [30, 10, 20];
    expect(median(values)).toBe(20);
    expect(values).toEqual([30, 10, 20]);
  });

  it('refuses no values and percentiles outside (0, 100]', () => {
    expect(() => percentile([], 50)).toThrow(/no values/);
    expect(() => percentile([1], 0)).toThrow(/\(0, 100\]/);
    expect(() => percentile([1], 101)).toThrow(/\(0, 100\]/);
  });
});

describe('summarize', () => {
  it('gives count, min, percentiles, max and mean', () => {
    expect(summarize(oneToHundred)).toEqual({
      count: 100,
      min: 1,
      p50: 50,
      p95: 95,
      p99: 99,
      max: 100,
      mean: 50.5,
    });
  });

  it('summarizes a single value as itself', () => {
    expect(summarize([7])).toMatchObject({ min: 7, p50: 7, p99: 7, max: 7, mean: 7 });
  });
});

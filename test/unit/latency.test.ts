import { describe, expect, it } from 'vitest';
import { LatencyHistogram, type LatencySummary } from '../../dist/actors/metrics/latency.js';

const HOUR_MS = 3_600_000;

function histogramOf(values: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const v of values) h.recordMs(v);
  return h;
}

/** Within 3 significant digits (relative 1e-3), plus the 1 µs resolution. */
function expectNear(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-3 + 0.001);
}

function expectOrdered(s: LatencySummary): void {
  expect(s.p50).toBeLessThanOrEqual(s.p95);
  expect(s.p95).toBeLessThanOrEqual(s.p99);
  expect(s.p99).toBeLessThanOrEqual(s.max);
  expect(s.mean).toBeLessThanOrEqual(s.max);
}

describe('LatencyHistogram', () => {
  it('summarises nothing as zeros', () => {
    expect(new LatencyHistogram().summary()).toEqual({ count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 });
  });

  it('reports a single value exactly in every figure', () => {
    expect(histogramOf([12.5]).summary()).toEqual({ count: 1, mean: 12.5, p50: 12.5, p95: 12.5, p99: 12.5, max: 12.5 });
  });

  it('reports a single value exactly even where its bucket is wider than 1 µs', () => {
    for (const v of [3, 7, 5000, 123.457, HOUR_MS]) {
      expect(histogramOf([v]).summary()).toEqual({ count: 1, mean: v, p50: v, p95: v, p99: v, max: v });
    }
  });

  it('gives the exact mean (to the microsecond), and forgets it with reset()', () => {
    const h = histogramOf([1, 2, 3, 1000.5]);
    expect(h.summary().mean).toBe(251.625);
    h.reset();
    expect(h.summary()).toMatchObject({ count: 0, mean: 0 });
    h.recordMs(7);
    expect(h.summary().mean).toBe(7);
  });

  it('keeps the mean between the smallest and the largest value', () => {
    for (let n = 1; n <= 40; n++) {
      const values = Array.from({ length: n }, (_, i) => 3 + i * 13.37);
      const s = histogramOf(values).summary();
      expect(s.mean).toBeGreaterThanOrEqual(3);
      expect(s.mean).toBeLessThanOrEqual(s.max);
      expectNear(s.mean, values.reduce((a, b) => a + b, 0) / n);
    }
  });

  it('counts every recorded value', () => {
    expect(histogramOf([1, 1, 1, 2, 3]).summary().count).toBe(5);
  });

  it('gives mean, percentiles and max of 1..1000 ms within 3 significant digits', () => {
    const s = histogramOf(Array.from({ length: 1000 }, (_, i) => i + 1)).summary();
    expect(s.count).toBe(1000);
    expectNear(s.mean, 500.5);
    expectNear(s.p50, 500);
    expectNear(s.p95, 950);
    expectNear(s.p99, 990);
    expect(s.max).toBe(1000);
    expectOrdered(s);
  });

  it('percentiles follow the tail, not the mean', () => {
    const values = [...Array.from({ length: 98 }, () => 1), 500, 1000];
    const s = histogramOf(values).summary();
    expectNear(s.p50, 1);
    expectNear(s.p95, 1);
    expectNear(s.p99, 500);
    expect(s.max).toBe(1000);
    expectNear(s.mean, (98 + 500 + 1000) / 100);
  });

  it('keeps microsecond resolution for small durations', () => {
    const s = histogramOf([0.001, 0.002, 0.003]).summary();
    expect(s.max).toBe(0.003);
    expect(s.p50).toBe(0.002);
  });

  it('rounds to whole microseconds', () => {
    expect(histogramOf([1.0004]).summary().max).toBe(1);
    expect(histogramOf([1.0006]).summary().max).toBe(1.001);
  });

  it('records zero and negative durations as 1 µs', () => {
    const s = histogramOf([0, -5]).summary();
    expect(s.count).toBe(2);
    expect(s.max).toBe(0.001);
    expect(s.p99).toBe(0.001);
  });

  it('clamps durations beyond one hour to one hour, in every figure', () => {
    const s = histogramOf([5 * HOUR_MS, 1e12]).summary();
    expect(s.count).toBe(2);
    expect(s.max).toBe(HOUR_MS);
    expect(s.p50).toBeLessThanOrEqual(HOUR_MS);
    expect(s.p99).toBeLessThanOrEqual(HOUR_MS);
    expectNear(s.p99, HOUR_MS);
    expectNear(s.mean, HOUR_MS);
  });

  it('clamps an infinite duration to one hour', () => {
    const s = histogramOf([Infinity, 1]).summary();
    expect(s.count).toBe(2);
    expect(s.max).toBe(HOUR_MS);
  });

  it('ignores a NaN duration instead of breaking the histogram', () => {
    const h = histogramOf([NaN, 2, NaN]);
    expect(() => h.summary()).not.toThrow();
    expect(h.summary()).toEqual({ count: 1, mean: 2, p50: 2, p95: 2, p99: 2, max: 2 });
  });

  it('never reports a percentile above the max', () => {
    // 3 ms is not exactly representable at 3 significant digits in µs (its bucket is 3000–3001).
    expectOrdered(histogramOf([1, 2, 3]).summary());
    expectOrdered(histogramOf([1, 2, 3, 4]).summary());
    for (let n = 1; n <= 60; n++) {
      expectOrdered(histogramOf(Array.from({ length: n }, (_, i) => 1 + i * 7.77)).summary());
    }
  });

  it('summary() does not reset: later values add to earlier ones', () => {
    const h = histogramOf([1, 2]);
    h.summary();
    h.recordMs(3);
    expect(h.summary().count).toBe(3);
  });

  it('instances are independent', () => {
    const a = histogramOf([1]);
    const b = histogramOf([100, 200]);
    expect(a.summary().count).toBe(1);
    expect(b.summary().count).toBe(2);
    expect(a.summary().max).toBe(1);
  });
});

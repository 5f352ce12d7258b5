import { describe, expect, it } from 'vitest';
import { ThroughputRing } from '../../dist/actors/metrics/throughput.js';
import { LatencyHistogram } from '../../dist/actors/metrics/latency.js';

const T0 = 1_700_000_000_000; // a whole second, in clock milliseconds

describe('ThroughputRing (pure, driven by the caller\'s clock)', () => {
  it('is zero before anything is recorded', () => {
    expect(new ThroughputRing().rates(T0)).toEqual({ '1s': 0, '10s': 0, '60s': 0 });
  });

  it('counts whole seconds before the current one: the current second shows once it has ended', () => {
    const ring = new ThroughputRing();
    for (let i = 0; i < 5; i += 1) ring.record(T0 + 100 * i);
    expect(ring.rates(T0 + 999)).toEqual({ '1s': 0, '10s': 0, '60s': 0 });
    expect(ring.rates(T0 + 1000)).toEqual({ '1s': 5, '10s': 0.5, '60s': 5 / 60 });
    expect(ring.rates(T0 + 1999)).toEqual({ '1s': 5, '10s': 0.5, '60s': 5 / 60 });
    expect(ring.rates(T0 + 2000)).toEqual({ '1s': 0, '10s': 0.5, '60s': 5 / 60 });
  });

  it('averages over each window and forgets seconds that left it', () => {
    const ring = new ThroughputRing();
    for (let s = 0; s < 60; s += 1) ring.record(T0 + s * 1000 + 500, s < 50 ? 1 : 3); // 50 × 1, then 10 × 3
    const end = T0 + 60_000;
    expect(ring.rates(end)).toEqual({ '1s': 3, '10s': 3, '60s': 80 / 60 });
    expect(ring.rates(end + 10_000)).toEqual({ '1s': 0, '10s': 0, '60s': (40 + 30) / 60 }); // seconds 10..69
    expect(ring.rates(end + 60_000)).toEqual({ '1s': 0, '10s': 0, '60s': 0 });
  });

  it('reuses its buckets as time moves on (bounded), keeping only what the windows cover', () => {
    const ring = new ThroughputRing();
    for (let s = 0; s < 1000; s += 1) ring.record(T0 + s * 1000, 2);
    expect(ring.rates(T0 + 1_000_000)).toEqual({ '1s': 2, '10s': 2, '60s': 2 });
    // After a long gap, a bucket's old count is not added to its new second.
    ring.record(T0 + 5_000_000 + 1);
    expect(ring.rates(T0 + 5_001_000)).toEqual({ '1s': 1, '10s': 0.1, '60s': 1 / 60 });
  });

  it('takes late events for a second still in the ring, drops older ones and non-finite times', () => {
    const ring = new ThroughputRing();
    ring.record(T0 + 61_000); // moves the ring on
    ring.record(T0 + 30_000); // late, still inside the ring
    ring.record(T0); // same slot as T0 + 61 s, but older: dropped
    ring.record(Number.NaN);
    ring.record(Number.POSITIVE_INFINITY);
    expect(ring.rates(T0 + 62_000)).toEqual({ '1s': 1, '10s': 0.1, '60s': 2 / 60 });
  });

  it('handles times before the epoch', () => {
    const ring = new ThroughputRing();
    ring.record(-1500);
    expect(ring.rates(-1000)).toEqual({ '1s': 1, '10s': 0.1, '60s': 1 / 60 });
  });
});

describe('LatencyHistogram.tailSummary', () => {
  it('adds p999 between p99 and max, and keeps summary() as it was', () => {
    const h = new LatencyHistogram();
    expect(h.tailSummary()).toEqual({ count: 0, mean: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 });
    for (let i = 1; i <= 10_000; i += 1) h.recordMs(i / 10);
    const s = h.tailSummary();
    expect(s.p999).toBeGreaterThanOrEqual(s.p99);
    expect(s.p999).toBeLessThanOrEqual(s.max);
    expect(Math.abs(s.p999 - 999)).toBeLessThanOrEqual(1);
    expect('p999' in h.summary()).toBe(false);
    const { p999: _, ...rest } = s;
    expect(rest).toEqual(h.summary());
  });
});

import * as hdr from 'hdr-histogram-js';

/** Latency figures in milliseconds (recorded with microsecond resolution, 3 significant digits). */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  /**
   * The 99.9th percentile. Always set in `MetricsSnapshot.latency`; optional so that `summary()`
   * and summaries written by hand keep their shape.
   */
  p999?: number;
  max: number;
}

/** A summary with its 99.9th percentile, as `MetricsSnapshot.latency` holds it. */
export type TailLatencySummary = LatencySummary & { p999: number };

/**
 * An HDR histogram of durations. Values beyond one hour are clamped to one hour, values below
 * 1 µs to 1 µs; NaN is not a duration and is ignored. Every figure lies within [min, max].
 */
export class LatencyHistogram {
  private static readonly MAX_US = 3_600_000_000;
  /** Sum of the recorded values (µs, as clamped), for an exact and cheap mean. */
  private sumUs = 0;
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: LatencyHistogram.MAX_US,
    numberOfSignificantValueDigits: 3,
  });

  recordMs(ms: number): void {
    // A NaN would land outside every bucket and make each later summary() throw.
    if (Number.isNaN(ms)) return;
    const us = Math.min(LatencyHistogram.MAX_US, Math.max(1, Math.round(ms * 1000)));
    this.histogram.recordValue(us);
    this.sumUs += us;
  }

  /** Forgets every value recorded so far. */
  reset(): void {
    this.histogram.reset();
    this.sumUs = 0;
  }

  summary(): LatencySummary {
    const h = this.histogram;
    const ms = (us: number): number => Math.round(us) / 1000;
    if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    // A percentile reads the top of its HDR bucket, which can lie above the exact maximum.
    const at = (p: number): number => ms(Math.min(h.getValueAtPercentile(p), h.maxValue));
    // The exact mean from a running sum: the histogram's own walks every bucket (milliseconds once
    // it holds many values, and snapshot() reads three histograms).
    const mean = this.sumUs / h.totalCount;
    return { count: h.totalCount, mean: ms(mean), p50: at(50), p95: at(95), p99: at(99), max: ms(h.maxValue) };
  }

  /** `summary()` plus `p999`, the 99.9th percentile (0 when empty; within [p99, max] otherwise). */
  tailSummary(): TailLatencySummary {
    const h = this.histogram;
    const { max, ...rest } = this.summary();
    const p999 = h.totalCount === 0 ? 0 : Math.round(Math.min(h.getValueAtPercentile(99.9), h.maxValue)) / 1000;
    return { ...rest, p999, max };
  }
}

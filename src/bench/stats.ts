/** Order statistics over benchmark samples. Pure functions, no I/O. */

/** Summary of one figure across the measured runs (warm-up excluded). */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** One value per measured run, in run order. */
  samples: number[];
}

function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** Median (mean of the two middle values for an even count). Throws on an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const s = sortedCopy(values);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Nearest-rank percentile (`p` in 0..100) of values sorted ascending: the smallest value with at
 * least p% of the values at or below it. p99 of 500 samples is the 495th smallest.
 */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in 0..100 (got ${p})`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function percentile(values: readonly number[], p: number): number {
  return percentileOfSorted(sortedCopy(values), p);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('mean of no values');
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export function summarise(samples: readonly number[]): Summary {
  const s = sortedCopy(samples);
  return { median: median(s), min: s[0]!, max: s[s.length - 1]!, samples: [...samples] };
}

/** Latency figures of one run, from per-task durations in milliseconds; reported in microseconds. */
export function latencyFigures(durationsMs: readonly number[]): { p50Us: number; p99Us: number; meanUs: number } {
  const s = sortedCopy(durationsMs);
  return {
    p50Us: percentileOfSorted(s, 50) * 1000,
    p99Us: percentileOfSorted(s, 99) * 1000,
    meanUs: mean(s) * 1000,
  };
}

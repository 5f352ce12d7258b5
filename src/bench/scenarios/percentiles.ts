/**
 * Percentiles as the runtime's HDR histograms pick them, so that the harness's figures and the
 * Metrics actor's can be compared rank for rank. hdr-histogram-js reads the value at rank
 * max(1, floor(p/100 × n + 0.5)); the bench's `percentile()` uses the nearest rank, ceil(p/100 × n).
 * The two agree whenever p/100 × n is a whole number, and may be one rank apart otherwise.
 */
export function hdrRankPercentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.floor((p / 100) * sorted.length + 0.5));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** p50 and p99 of `values` (ms), for the table's latency columns. */
export function p50p99(values: readonly number[]): { p50Ms: number; p99Ms: number } {
  return { p50Ms: hdrRankPercentile(values, 50), p99Ms: hdrRankPercentile(values, 99) };
}

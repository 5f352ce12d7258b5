/** Overlap of time intervals, from both ends of a run: the agents' own stamps and the runtime's events. */

export interface Interval {
  start: number;
  end: number;
}

/** How long every interval was open at once (0 if some never overlapped the others). */
export function commonOverlap(intervals: readonly Interval[]): number {
  if (intervals.length === 0) return 0;
  const start = Math.max(...intervals.map((i) => i.start));
  const end = Math.min(...intervals.map((i) => i.end));
  return Math.max(0, end - start);
}

/**
 * The most of `changes` open at once, applying +1 / −1 in the order given (the order events arrived
 * in, which is the order the runtime decided them: a slot is freed before it is handed on).
 */
export function peakOpen(changes: readonly (1 | -1)[]): number {
  let open = 0;
  let peak = 0;
  for (const d of changes) {
    open += d;
    peak = Math.max(peak, open);
  }
  return peak;
}

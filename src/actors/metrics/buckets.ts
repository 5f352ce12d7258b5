// Durations counted in fixed buckets, per agent: what Prometheus histograms are made of (they add up
// across instances, unlike quantiles). The bounds suit agents' work, from milliseconds to an hour.

/** Upper bounds of the buckets, in seconds (a last, unbounded bucket is implied). */
export const DURATION_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** One histogram: `counts[i]` values at most `DURATION_BUCKETS_S[i]` and above the bound before (the last: above every bound). */
export interface BucketCounts {
  counts: number[];
  /** Sum of the values, in seconds. */
  sumSeconds: number;
  count: number;
}

export type DurationKind = 'queueWait' | 'run' | 'endToEnd';

export class DurationBuckets {
  private readonly byAgent = new Map<string, Record<DurationKind, BucketCounts>>();

  record(agent: string, kind: DurationKind, ms: number): void {
    if (!Number.isFinite(ms)) return;
    const seconds = Math.max(0, ms) / 1000;
    let histograms = this.byAgent.get(agent);
    if (histograms === undefined) this.byAgent.set(agent, (histograms = { queueWait: empty(), run: empty(), endToEnd: empty() }));
    const h = histograms[kind];
    let i = 0;
    while (i < DURATION_BUCKETS_S.length && seconds > DURATION_BUCKETS_S[i]!) i += 1;
    h.counts[i]! += 1;
    h.sumSeconds += seconds;
    h.count += 1;
  }

  /** A copy, by agent. */
  snapshot(): Record<string, Record<DurationKind, BucketCounts>> {
    const out: Record<string, Record<DurationKind, BucketCounts>> = {};
    for (const [agent, h] of this.byAgent) out[agent] = { queueWait: copy(h.queueWait), run: copy(h.run), endToEnd: copy(h.endToEnd) };
    return out;
  }
}

const empty = (): BucketCounts => ({ counts: new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0), sumSeconds: 0, count: 0 });
const copy = (h: BucketCounts): BucketCounts => ({ counts: [...h.counts], sumSeconds: h.sumSeconds, count: h.count });

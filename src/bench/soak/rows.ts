/** The report's rows, one per interval of the load ("minute") and one for the drain after it. */
import { median, percentile } from '../stats.js';
import type { Sample } from './sampler.js';
import type { Bucket } from './tally.js';

export interface Row {
  /** `1`, `2`, ... for the load's intervals; `drain` for the wait after it. */
  label: string;
  /** Seconds since the load began, at the row's end. */
  endS: number;
  submitted: number;
  succeeded: number;
  dead: number;
  failedRuns: number;
  /** Submit → result of the tasks that ended in the row; null when none did. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Median of the row's samples; null when it has none. */
  rssMb: number | null;
  heapMb: number | null;
  /** Largest of the row's samples: database + WAL, and the database alone. */
  journalMb: number | null;
  dbMb: number | null;
  breakerOpens: number;
  breakerCloses: number;
  /** Tasks accepted and not yet ended at the row's end. */
  inFlight: number;
  /** Queued and delayed tasks in the daemon, at the row's last sample. */
  backlog: number | null;
  sseEvents: number;
  /** p50 and p99 of each kind's tasks that ended in the row (the phased kind's include their breaker waits). */
  byKind: Record<string, { p50Ms: number; p99Ms: number; n: number }>;
}

const MB = 2 ** 20;
const orNull = <T>(values: readonly T[], f: (v: readonly T[]) => number): number | null => (values.length === 0 ? null : f(values));

export function rowOf(label: string, endS: number, b: Bucket, samples: readonly Sample[], inFlight: number): Row {
  const last = samples.at(-1);
  return {
    label,
    endS: Math.round(endS),
    submitted: b.submitted,
    succeeded: b.succeeded,
    dead: b.dead,
    failedRuns: b.failedRuns,
    p50Ms: orNull(b.latenciesMs, (v) => percentile(v, 50)),
    p99Ms: orNull(b.latenciesMs, (v) => percentile(v, 99)),
    rssMb: orNull(samples, (v) => median(v.map((s) => s.rssBytes)) / MB),
    heapMb: orNull(samples, (v) => median(v.map((s) => s.heapUsedBytes)) / MB),
    journalMb: orNull(samples, (v) => Math.max(...v.map((s) => s.journalBytes)) / MB),
    dbMb: orNull(samples, (v) => Math.max(...v.map((s) => s.dbBytes)) / MB),
    breakerOpens: b.breakerOpens,
    breakerCloses: b.breakerCloses,
    inFlight,
    backlog: last === undefined ? null : last.queued + last.delayed,
    sseEvents: b.sseEvents,
    byKind: Object.fromEntries(
      Object.entries(b.latenciesByKind).map(([kind, v]) => [kind, { p50Ms: percentile(v, 50), p99Ms: percentile(v, 99), n: v.length }]),
    ),
  };
}

/**
 * What the soak's client saw: every accepted task until it ends, and per report row ("minute")
 * the tasks submitted and ended, their submit → result latencies, failed runs and breaker moves.
 */
import type { Expected, Kind } from './outcomes.js';

/** One report row's counts, filled as things happen in it. */
export interface Bucket {
  submitted: number;
  succeeded: number;
  dead: number;
  /** Failed runs (`failed` events on the event stream), retried or not. */
  failedRuns: number;
  breakerOpens: number;
  breakerCloses: number;
  /** Frames received by all the soak's event-stream clients. */
  sseEvents: number;
  /** Submit → result of the tasks that ended in this row, ms. */
  latenciesMs: number[];
  /** The same, by kind. */
  latenciesByKind: Partial<Record<Kind, number[]>>;
}

interface Pending {
  kind: Kind;
  expected: Expected;
}

/** A task that ended otherwise than designed (kept for the report, the first few only). */
export interface Mismatch {
  id: string;
  kind: Kind;
  expected: Expected;
  got: { state: string; result?: unknown; error?: string };
}

const KEEP = 20;

const emptyBucket = (): Bucket => ({ submitted: 0, succeeded: 0, dead: 0, failedRuns: 0, breakerOpens: 0, breakerCloses: 0, sseEvents: 0, latenciesMs: [], latenciesByKind: {} });

export class Tally {
  /** Rows of the load, then one more for the drain after it. */
  readonly buckets: Bucket[];
  readonly pending = new Map<string, Pending>();
  accepted = 0;
  succeeded = 0;
  dead = 0;
  /** Tasks whose end differs from the design (state or result). */
  mismatched = 0;
  readonly mismatches: Mismatch[] = [];
  /** Requests that failed (refused submissions, polls answered with an error, broken connections). */
  requestErrors = 0;
  readonly errorSamples: string[] = [];
  /** Submissions skipped because MAX_IN_FLIGHT tasks were unanswered. */
  throttled = 0;
  readonly acceptedByKind: Record<string, number> = {};
  readonly deadByKind: Record<string, number> = {};

  constructor(
    private readonly t0: number,
    private readonly intervalMs: number,
    private readonly durationMs: number,
  ) {
    this.buckets = Array.from({ length: Math.ceil(durationMs / intervalMs) + 1 }, emptyBucket);
  }

  /** The row `now` (performance.now()) falls in: a load row, or the drain row after the load. */
  bucket(now = performance.now()): Bucket {
    const elapsed = now - this.t0;
    const drain = this.buckets.length - 1;
    if (elapsed >= this.durationMs) return this.buckets[drain]!;
    return this.buckets[Math.min(drain - 1, Math.max(0, Math.floor(elapsed / this.intervalMs)))]!;
  }

  accept(id: string, kind: Kind, expected: Expected): void {
    this.pending.set(id, { kind, expected });
    this.accepted += 1;
    this.acceptedByKind[kind] = (this.acceptedByKind[kind] ?? 0) + 1;
    this.bucket().submitted += 1;
  }

  /** A task's outcome, as its result long-poll answered it `latencyMs` after its submission began. */
  end(id: string, got: Mismatch['got'], latencyMs: number): void {
    const task = this.pending.get(id);
    if (task === undefined) return;
    this.pending.delete(id);
    const b = this.bucket();
    b.latenciesMs.push(latencyMs);
    (b.latenciesByKind[task.kind] ??= []).push(latencyMs);
    if (got.state === 'succeeded') {
      this.succeeded += 1;
      b.succeeded += 1;
    } else if (got.state === 'dead') {
      this.dead += 1;
      b.dead += 1;
      this.deadByKind[task.kind] = (this.deadByKind[task.kind] ?? 0) + 1;
    }
    const asDesigned = got.state === task.expected.state && (got.state !== 'succeeded' || JSON.stringify(got.result) === JSON.stringify(task.expected.result));
    if (!asDesigned) {
      this.mismatched += 1;
      if (this.mismatches.length < KEEP) this.mismatches.push({ id, kind: task.kind, expected: task.expected, got });
    }
  }

  error(what: string): void {
    this.requestErrors += 1;
    if (this.errorSamples.length < KEEP) this.errorSamples.push(what);
  }

  get inFlight(): number {
    return this.pending.size;
  }
}

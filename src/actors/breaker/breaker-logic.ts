import type { BreakerRecord } from '../../core/messages.js';

export type { BreakerRecord };

export interface BreakerConfig {
  /** Consecutive failures that open the breaker, whatever the rate. */
  failureThreshold: number;
  /** Failure rate (0..1) in the rolling window above which (strictly) the breaker opens... */
  failureRate: number;
  /** ...once the window holds at least this many calls. */
  minimumCalls: number;
  /** Length of the rolling window. */
  windowMs: number;
  /** How long the breaker stays open the first time before it goes half-open. */
  resetTimeoutMs: number;
  /** Each reopening from half-open multiplies the reset timeout by this... */
  resetBackoffFactor: number;
  /** ...up to this. */
  maxResetTimeoutMs: number;
  /** Trial calls let through half-open; that many successes close it, one failure reopens it. */
  halfOpenTrials: number;
}

/** Outcomes of calls that ended in [start, start + windowMs / WINDOW_BUCKETS). */
export interface WindowBucket {
  start: number;
  calls: number;
  failures: number;
}

export interface Breaker extends BreakerRecord {
  consecutiveFailures: number;
  /** Calls in the rolling window, oldest bucket first; never more than WINDOW_BUCKETS buckets. */
  window: WindowBucket[];
  /** Successes of trial calls since it went half-open. */
  trialSuccesses: number;
}

export type BreakerEvent =
  | { type: 'success' }
  | { type: 'failure' }
  | { type: 'tick' }
  | { type: 'force'; state: 'open' | 'closed' };

/** The rolling window is cut into this many time buckets, so its memory is O(1) whatever the load. */
const WINDOW_BUCKETS = 10;

export function closedBreaker(cfg: BreakerConfig): Breaker {
  return {
    state: 'closed',
    forced: false,
    openedAt: null,
    resetTimeoutMs: cfg.resetTimeoutMs,
    consecutiveFailures: 0,
    window: [],
    trialSuccesses: 0,
  };
}

/** A breaker restored from its journaled record (window empty, counters zero). */
export function fromRecord(record: BreakerRecord): Breaker {
  const { state, forced, openedAt, resetTimeoutMs } = record;
  return { state, forced, openedAt, resetTimeoutMs, consecutiveFailures: 0, window: [], trialSuccesses: 0 };
}

export function toRecord(b: Breaker): BreakerRecord {
  // Pick the fields one by one: a Breaker's counters and window are not journaled.
  return { state: b.state, forced: b.forced, openedAt: b.openedAt, resetTimeoutMs: b.resetTimeoutMs };
}

/** Pure transition: returns a new breaker, never mutates `b`; `now` is the only time source. */
export function stepBreaker(b: Breaker, event: BreakerEvent, now: number, cfg: BreakerConfig): Breaker {
  if (event.type === 'force') return event.state === 'open' ? forceOpen(b, now) : closedBreaker(cfg);
  switch (b.state) {
    case 'closed':
      return event.type === 'tick' ? { ...b } : stepClosed(b, event.type === 'failure', now, cfg);
    case 'open':
      // Outcomes while open are late results of runs started before it opened: ignored.
      return event.type === 'tick' && isDue(b, now) ? { ...b, state: 'half-open', trialSuccesses: 0 } : { ...b };
    case 'half-open':
      return event.type === 'tick' ? { ...b } : stepHalfOpen(b, event.type === 'failure', now, cfg);
  }
}

/** How many calls of this key may run at once: 0 open, cfg.halfOpenTrials half-open, Infinity closed. */
export function breakerCap(b: Breaker, cfg: BreakerConfig): number {
  if (b.state === 'open') return 0;
  return b.state === 'half-open' ? cfg.halfOpenTrials : Infinity;
}

/** When an open, unforced breaker becomes due for half-open (openedAt + resetTimeoutMs), else null. */
export function halfOpenAt(b: Breaker): number | null {
  if (b.state !== 'open' || b.forced || b.openedAt === null) return null;
  return b.openedAt + b.resetTimeoutMs;
}

/** Failures and calls currently in the window (as of the last recorded outcome). */
function windowTotals(b: Breaker): { calls: number; failures: number } {
  let calls = 0;
  let failures = 0;
  for (const bucket of b.window) {
    calls += bucket.calls;
    failures += bucket.failures;
  }
  return { calls, failures };
}

function isDue(b: Breaker, now: number): boolean {
  const at = halfOpenAt(b);
  return at !== null && at <= now;
}

function stepClosed(b: Breaker, failed: boolean, now: number, cfg: BreakerConfig): Breaker {
  const next: Breaker = {
    ...b,
    consecutiveFailures: failed ? b.consecutiveFailures + 1 : 0,
    window: record(b.window, failed, now, cfg.windowMs),
  };
  return shouldOpen(next, cfg) ? open(next, now, next.resetTimeoutMs) : next;
}

function shouldOpen(b: Breaker, cfg: BreakerConfig): boolean {
  if (b.consecutiveFailures >= cfg.failureThreshold) return true;
  const { calls, failures } = windowTotals(b);
  // Strictly greater: a rate exactly at the limit stays closed.
  return calls >= cfg.minimumCalls && calls > 0 && failures / calls > cfg.failureRate;
}

function stepHalfOpen(b: Breaker, failed: boolean, now: number, cfg: BreakerConfig): Breaker {
  if (failed) {
    // One failed trial reopens it, and each reopening waits longer, up to the cap.
    const grown = Math.min(cfg.maxResetTimeoutMs, b.resetTimeoutMs * cfg.resetBackoffFactor);
    return open(b, now, grown);
  }
  const trialSuccesses = b.trialSuccesses + 1;
  return trialSuccesses >= cfg.halfOpenTrials ? closedBreaker(cfg) : { ...b, trialSuccesses };
}

/** Unforced opening: counters and window start afresh so stale calls cannot reopen it after it closes. */
function open(b: Breaker, now: number, resetTimeoutMs: number): Breaker {
  return { ...b, state: 'open', openedAt: now, resetTimeoutMs, consecutiveFailures: 0, window: [], trialSuccesses: 0 };
}

function forceOpen(b: Breaker, now: number): Breaker {
  return { ...open(b, now, b.resetTimeoutMs), forced: true };
}

/**
 * Adds one outcome to the window, in a bucket aligned on multiples of windowMs / WINDOW_BUCKETS,
 * and drops buckets that started windowMs or more ago. Buckets are copied, never mutated.
 */
function record(window: readonly WindowBucket[], failed: boolean, now: number, windowMs: number): WindowBucket[] {
  const width = bucketWidth(windowMs);
  const start = Math.floor(now / width) * width;
  const kept = window.filter((bucket) => bucket.start > now - windowMs && bucket.start !== start);
  const current = window.find((bucket) => bucket.start === start) ?? { start, calls: 0, failures: 0 };
  const updated = { start, calls: current.calls + 1, failures: current.failures + (failed ? 1 : 0) };
  const sorted = [...kept, updated].sort((x, y) => x.start - y.start);
  // Only a clock going backwards could leave more (buckets "in the future"); keep the newest.
  return sorted.slice(-WINDOW_BUCKETS);
}

/** Whole milliseconds, at least 1, so at most WINDOW_BUCKETS bucket starts fit in one window. */
function bucketWidth(windowMs: number): number {
  return Math.max(1, Math.ceil(windowMs / WINDOW_BUCKETS));
}

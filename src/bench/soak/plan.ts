/**
 * The soak's plan: the load (tasks per second of each kind), the agents' retry policies, the
 * breaker, retention and the phases of the breaker agent, all derived from the run's length so
 * that a short run goes through the same motions, faster.
 */
import type { Kind } from './outcomes.js';

export interface SoakOptions {
  /** Length of the load, in ms (the drain and the checks come after). */
  durationMs: number;
  /** Length of one report row ("minute"), in ms. */
  intervalMs: number;
  /** Multiplies every rate of the load. */
  scale: number;
  /** Directory for soak-steady.json and soak-steady.md. */
  out: string;
}

export interface KindPlan {
  /** Tasks submitted per second (before `scale`). */
  perSecond: number;
  /** Runs a task may make (retry.attempts): drawn kinds are dead when all of them fail. */
  attempts: number;
  /** Share of runs that fail, for the drawn kinds (flaky, command). */
  failRate?: number;
}

/** Tasks per second, and retry policy, of each kind at scale 1: about 28 tasks/s in all. */
export const KIND_PLANS: Record<Kind, KindPlan> = {
  hash: { perSecond: 15, attempts: 3 },
  flaky: { perSecond: 8, attempts: 3, failRate: 0.3 },
  // Enough attempts to outlast a failing phase: the open breaker holds its tasks, only trials burn runs.
  phased: { perSecond: 4, attempts: 40 },
  command: { perSecond: 1.5, attempts: 2, failRate: 0.2 },
};

/** SHA-256 rounds per hash task. */
export const HASH_ROUNDS = 100;
/** The seed of the drawn kinds' failing runs. */
export const SEED = 15;
/** Pool threads, fixed (min = max): an autoscaling pool would move the RSS by whole threads. */
export const THREADS = 2;
/** Longest a result long-poll waits before it is sent again. */
export const POLL_WAIT_MS = 30_000;
/** Time allowed after the load for every accepted task to end. */
export const DRAIN_TIMEOUT_MS = 120_000;
/** Submissions are paused while this many tasks are unanswered (a guard; reported, never expected). */
export const MAX_IN_FLIGHT = 3_000;
/** Keep-alive sockets for the API calls and long-polls. */
export const MAX_SOCKETS = 512;

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export interface Timings {
  /** One cycle of the breaker agent: healthy for two thirds, failing for one. */
  phaseCycleMs: number;
  retention: { maxAgeMs: number; intervalMs: number; maxFinished: number };
  /** How often the daemon's memory and the journal's size are sampled. */
  sampleMs: number;
  /** The SSE client that reconnects does so this often. */
  reconnectMs: number;
}

/** Phases and retention scale with the run: a 30-minute run cycles the breaker every minute, prunes past a minute. */
export function timings(o: SoakOptions): Timings {
  const maxAgeMs = Math.round(clamp(o.durationMs / 20, 5_000, 60_000));
  return {
    phaseCycleMs: Math.round(clamp(o.durationMs / 4, 4_000, 60_000)),
    retention: { maxAgeMs, intervalMs: Math.round(clamp(maxAgeMs / 4, 1_000, 15_000)), maxFinished: 50_000 },
    sampleMs: Math.round(clamp(o.intervalMs / 12, 250, 5_000)),
    reconnectMs: Math.round(clamp(o.intervalMs / 3, 1_000, 20_000)),
  };
}

/** Whether the breaker agent's phase at `elapsedMs` into the load is a failing one (the last third of each cycle). */
export function failingPhase(elapsedMs: number, cycleMs: number): boolean {
  return elapsedMs % cycleMs >= (cycleMs * 2) / 3;
}

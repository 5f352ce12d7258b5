/**
 * Clocks of the measurements: the runtime's epoch clock that events are stamped with, per-call
 * latency of sequential runs, and throughput with the main thread's busy time.
 */
import type { EventLoopUtilization } from 'node:perf_hooks';
import { latencyFigures } from '../../stats.js';

/** The runtime clock: epoch ms with sub-ms precision, as `at` on every event (src/runtime/clock.ts). */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Times `n` one-at-a-time calls of `run`; latency figures in µs. */
export async function timeSequential(n: number, run: (input: number) => Promise<void>): Promise<{ p50Us: number; p99Us: number; meanUs: number }> {
  const durations = new Array<number>(n);
  for (let i = 0; i < n; i += 1) {
    const t0 = performance.now();
    await run(i);
    durations[i] = performance.now() - t0;
  }
  return latencyFigures(durations);
}

export interface Rate {
  tasksPerSec: number;
  /** Main-thread busy time per task: the event loop's active time over the run, divided by `n`. */
  mainUsPerTask: number;
  /** Share of the run the main thread was busy (1: it is the bottleneck). */
  mainBusy: number;
  elapsedMs: number;
}

/** Marks the start of a timed run: wall clock and the event loop's utilisation. */
export function startClock(): { t0: number; elu: EventLoopUtilization } {
  return { t0: performance.now(), elu: performance.eventLoopUtilization() };
}

export function rate(n: number, start: { t0: number; elu: EventLoopUtilization }): Rate {
  const elapsedMs = performance.now() - start.t0;
  const elu = performance.eventLoopUtilization(start.elu);
  return { tasksPerSec: n / (elapsedMs / 1000), mainUsPerTask: (elu.active * 1000) / n, mainBusy: elu.utilization, elapsedMs };
}

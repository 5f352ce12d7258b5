/**
 * The wall-clock interval a run occupied, stamped by the agent itself (scenario `a`). Epoch
 * milliseconds with sub-millisecond precision: comparable across threads and processes, which
 * `performance.now()` alone is not (each thread and process has its own time origin).
 */
export interface RunInterval {
  startedAt: number;
  endedAt: number;
}

export const epochNow = (): number => performance.timeOrigin + performance.now();

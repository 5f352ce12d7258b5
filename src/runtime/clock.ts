/**
 * Time as the runtime sees it. Time-driven decisions (autoscaling, cancel grace, breaker reset)
 * read this instead of globals so that tests can drive them.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: wall time in milliseconds, Node timers that do not keep the process alive. */
export const systemClock: Clock = {
  // Epoch milliseconds with sub-millisecond precision, monotonic within a process.
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

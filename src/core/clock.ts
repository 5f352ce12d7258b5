/**
 * Time as the runtime sees it. Time-driven decisions (autoscaling, cancel grace, breaker reset)
 * read this instead of globals so that tests can drive them.
 */
export interface Clock {
  now(): number;
  /** Runs `fn` once `now()` has advanced by `ms` (never before). */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const now = (): number => performance.timeOrigin + performance.now();

/** A pending timer of the system clock: the Node timer armed for it now. */
interface SystemTimer {
  node: NodeJS.Timeout | undefined;
}

/**
 * Node runs timers on its cached, whole-millisecond loop clock, so one can fire a little before
 * `now()` reaches its due time: a timer that fires early is armed again for what is left.
 */
function armUntil(timer: SystemTimer, due: number, fn: () => void): void {
  timer.node = setTimeout(() => {
    const left = due - now();
    if (left > 0) armUntil(timer, due, fn);
    else fn();
  }, Math.max(0, due - now())).unref();
}

/** The real clock: wall time in milliseconds, Node timers that do not keep the process alive. */
export const systemClock: Clock = {
  // Epoch milliseconds with sub-millisecond precision, monotonic within a process.
  now,
  setTimeout: (fn, ms) => {
    const timer: SystemTimer = { node: undefined };
    armUntil(timer, now() + ms, fn);
    return timer;
  },
  clearTimeout: (handle) => clearTimeout((handle as SystemTimer | undefined)?.node),
};

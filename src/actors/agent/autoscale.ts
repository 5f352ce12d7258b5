/** The autoscaler's memory between decisions. */
export interface ScaleState {
  /** Threads the pool may use now; admission to the pool is `target × concurrentTasksPerWorker`. */
  target: number;
  /** Since when spare capacity has been unused continuously, or null if it is in use. */
  idleSince: number | null;
}

/** What the autoscaler observes. */
export interface ScaleInput {
  /** Tasks running on the pool. */
  busy: number;
  /** Queued tasks that could run at once if the pool had room. */
  waiting: number;
  now: number;
}

export interface ScaleLimits {
  minThreads: number;
  maxThreads: number;
  idleTimeoutMs: number;
  concurrentTasksPerWorker: number;
}

export function initialScale(limits: ScaleLimits): ScaleState {
  return { target: limits.minThreads, idleSince: null };
}

/**
 * Pure autoscaling decision. Grows at once to fit the demand (busy + waiting) when every slot is
 * taken and work waits; shrinks to what is in use (never below `minThreads`) once spare capacity
 * has gone unused for `idleTimeoutMs`. Between those, the target holds still.
 */
export function decideScale(state: ScaleState, input: ScaleInput, limits: ScaleLimits): ScaleState {
  const perThread = limits.concurrentTasksPerWorker;
  const slots = state.target * perThread;
  const clamp = (n: number): number => Math.min(limits.maxThreads, Math.max(limits.minThreads, n));
  if (input.waiting > 0 && input.busy >= slots) {
    const wanted = clamp(Math.ceil((input.busy + input.waiting) / perThread));
    return { target: Math.max(state.target, wanted), idleSince: null };
  }
  const needed = clamp(Math.ceil(input.busy / perThread));
  if (needed >= state.target) return { target: state.target, idleSince: null };
  const idleSince = state.idleSince ?? input.now;
  if (input.now - idleSince < limits.idleTimeoutMs) return { target: state.target, idleSince };
  return { target: needed, idleSince: null };
}

// How module tasks are grouped into pool messages: pure decisions over measured handler times.

/** Tasks in one pool message at most (a message's cost is paid once for all of them). */
export const BATCH_MAX_TASKS = 32;
/**
 * Expected handler time one batch may hold: what the last task of a batch may wait behind the
 * others on its thread. Only short tasks share a message; a long one always goes alone.
 */
export const BATCH_BUDGET_MS = 2;
/** A task is short when its agent's handlers take at most this long (running mean). */
export const SHORT_MS = BATCH_BUDGET_MS / 8;
/** Weight of the newest handler time in an agent's running mean. */
const ALPHA = 0.2;

/** Running means of handler time, per agent and over all module runs. */
export class RunTimes {
  private readonly byAgent = new Map<string, number>();
  private all: number | undefined;

  record(agent: string, ms: number): void {
    const before = this.byAgent.get(agent);
    this.byAgent.set(agent, before === undefined ? ms : before + ALPHA * (ms - before));
    this.all = this.all === undefined ? ms : this.all + ALPHA * (ms - this.all);
  }

  /** The agent's mean handler time; undefined before its first outcome (then it counts as long). */
  expected(agent: string): number | undefined {
    return this.byAgent.get(agent);
  }

  /** True while module runs lately are short: worth admitting enough tasks to fill batches. */
  get short(): boolean {
    return this.all !== undefined && this.all <= SHORT_MS;
  }
}

export interface BatchInput {
  /** Tasks ready to launch, in launch order. */
  readonly ready: number;
  /** Expected handler time of the i-th ready task (undefined: unknown, so long). */
  expected(i: number): number | undefined;
  /** Batches on the pool whose tasks have not all ended. */
  readonly inFlight: number;
  /** Tasks that may run at once (threads × tasks per thread). */
  readonly slots: number;
}

/**
 * How many of the ready tasks form the next batch; 0 to launch nothing now. Up to one batch per
 * slot always; a second per slot (queued behind the first, so threads never wait for the main
 * thread) only for short tasks. A batch takes short tasks in order while their expected time fits
 * the budget, spread over the batches that may still go out; a task not short goes alone.
 */
export function nextBatchSize(input: BatchInput): number {
  const { ready, inFlight, slots } = input;
  if (ready === 0 || inFlight >= 2 * slots) return 0;
  const isShort = (i: number): boolean => {
    const ms = input.expected(i);
    return ms !== undefined && ms <= SHORT_MS;
  };
  if (!isShort(0)) return inFlight < slots ? 1 : 0;
  const spread = Math.ceil(ready / (2 * slots - inFlight));
  const cap = Math.min(BATCH_MAX_TASKS, ready, spread);
  let size = 0;
  let total = 0;
  while (size < cap && isShort(size)) {
    total += input.expected(size)!;
    if (size > 0 && total > BATCH_BUDGET_MS) break;
    size += 1;
  }
  return size;
}

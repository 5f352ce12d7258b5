/**
 * A closed-loop driver and its ideal. The driver keeps exactly `inFlight` tasks outstanding and
 * starts the next task of the sequence the moment one completes, so the offered load is the same
 * for every system whatever its own queueing; `idealMakespan` is the same loop run by a perfect
 * scheduler (zero overhead), computed from the same latencies.
 */

/** What one closed-loop run produced. */
export interface ClosedLoopRun {
  elapsedMs: number;
  /** Per task, in sequence order: from the call to its result, in ms. */
  endToEndMs: number[];
  /** Per task, in sequence order: what it returned. */
  results: unknown[];
}

/**
 * Runs tasks 0..n−1 with `run(i)`, never more than `inFlight` outstanding: `inFlight` loops each
 * take the next index as soon as their previous task completes.
 */
export async function closedLoop(n: number, inFlight: number, run: (i: number) => Promise<unknown>): Promise<ClosedLoopRun> {
  const endToEndMs = new Array<number>(n);
  const results = new Array<unknown>(n);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next;
      next += 1;
      const t0 = performance.now();
      results[i] = await run(i);
      endToEndMs[i] = performance.now() - t0;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
  return { elapsedMs: performance.now() - t0, endToEndMs, results };
}

/**
 * The makespan of the closed loop with zero overhead: task i starts when the earliest of the
 * `inFlight` slots frees (all free at 0) and ends `latenciesMs[i]` later, exactly as `closedLoop`
 * hands out indices. It exceeds total latency ÷ inFlight by the drain at the end, when fewer
 * than `inFlight` tasks remain.
 */
export function idealMakespan(latenciesMs: readonly number[], inFlight: number): number {
  const slots = new MinHeap();
  for (let s = 0; s < Math.min(inFlight, latenciesMs.length); s += 1) slots.push(0);
  let makespan = 0;
  for (const latency of latenciesMs) {
    const end = slots.pop() + latency;
    slots.push(end);
    makespan = Math.max(makespan, end);
  }
  return makespan;
}

/** A binary min-heap of numbers: slot free times. */
class MinHeap {
  private readonly items: number[] = [];

  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  /** Removes and returns the smallest value; the heap must not be empty. */
  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length === 0) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < a.length && a[l]! < a[min]!) min = l;
      if (r < a.length && a[r]! < a[min]!) min = r;
      if (min === i) return top;
      [a[min], a[i]] = [a[i]!, a[min]!];
      i = min;
    }
  }
}

/**
 * Figures of a distribution run (scenario (g), workload `distribution`): the lower bound on its
 * makespan, a zero-overhead simulation of the runtime's binding rules, and what the runtime's
 * events say happened (makespan, waits, utilisation, the most running under each manager). Pure.
 */
import TinyQueue from 'tinyqueue';
import { percentile } from './stats.js';

/** A manager as the simulation and the bound see it. */
export interface SimManager {
  /** Its `maxChildren`: specialists under it at once. */
  capacity: number;
  /** How many times as long its specialists take (1: normal speed; 2: twice as slow). */
  slowdown: number;
}

/**
 * No schedule can finish sooner: the longest task at the fastest manager, or all the work spread
 * over every slot at once (each slot doing 1 ÷ slowdown of work per ms). With equal speeds this
 * is max(longest, total ÷ slots).
 */
export function lowerBound(durations: readonly number[], managers: readonly SimManager[]): number {
  if (durations.length === 0) return 0;
  const fastest = Math.min(...managers.map((m) => m.slowdown));
  const rate = managers.reduce((sum, m) => sum + m.capacity / m.slowdown, 0);
  const total = durations.reduce((a, b) => a + b, 0);
  return Math.max(Math.max(...durations) * fastest, total / rate);
}

/**
 * The makespan with zero overhead of `durations` (in submission order) over `managers`. With
 * `bindings` (a manager index per task, as a push strategy bound them at submission) each manager
 * runs its own tasks first come, first served, up to its capacity. Without, tasks wait in one
 * queue and each, when a slot frees, goes to the manager with the most free slots (the first of
 * them on a tie), as `at-dispatch` does.
 */
export function simulateMakespan(durations: readonly number[], managers: readonly SimManager[], bindings?: readonly number[]): number {
  if (bindings !== undefined && bindings.length !== durations.length) throw new RangeError('simulateMakespan: one binding per task');
  if (bindings?.some((m) => !Number.isInteger(m) || m < 0 || m >= managers.length)) throw new RangeError('simulateMakespan: a binding names no manager');
  const queues = bindings === undefined ? [durations.map((_, i) => i)] : managers.map((_, m) => durations.flatMap((_, i) => (bindings[i] === m ? [i] : [])));
  const heads = queues.map(() => 0);
  const free = managers.map((m) => m.capacity);
  const running = new TinyQueue<{ end: number; manager: number }>([], (a, b) => a.end - b.end);
  let now = 0;
  const start = (task: number, manager: number): void => {
    free[manager]! -= 1;
    running.push({ end: now + durations[task]! * managers[manager]!.slowdown, manager });
  };
  const fill = (): void => {
    if (bindings === undefined) {
      const queue = queues[0]!;
      for (let m = freest(free); m !== undefined && heads[0]! < queue.length; m = freest(free)) start(queue[heads[0]!++]!, m);
      return;
    }
    queues.forEach((queue, m) => {
      while (free[m]! > 0 && heads[m]! < queue.length) start(queue[heads[m]!++]!, m);
    });
  };
  fill();
  while (running.length > 0) {
    now = running.peek()!.end;
    while (running.length > 0 && running.peek()!.end === now) free[running.pop()!.manager]! += 1;
    fill();
  }
  if (queues.some((q, m) => heads[m]! < q.length)) throw new RangeError('simulateMakespan: a task is bound to a manager without capacity');
  return now;
}

function freest(free: readonly number[]): number | undefined {
  let best: number | undefined;
  for (let m = 0; m < free.length; m += 1) if (free[m]! > 0 && (best === undefined || free[m]! > free[best]!)) best = m;
  return best;
}

/** A run event as the stats read it (the runtime's `TroupeEvent`s fit). */
export interface RunEvent {
  type: string;
  taskId: string;
  at: number;
}

/** One task's life by the runtime's events: submitted → started → ended (its last run). */
export interface TaskTimes {
  id: string;
  submittedAt: number;
  startedAt: number;
  endedAt: number;
}

/** Events that end a run of a task that was running (a queued task's `cancelled` ends none). */
const RUN_ENDS: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'requeued']);

/** Each of `ids`' times from `events`; throws naming the first task without a submission, start or success. */
export function taskTimes(events: readonly RunEvent[], ids: readonly string[]): TaskTimes[] {
  const first = (id: string, type: string): number | undefined => events.find((e) => e.taskId === id && e.type === type)?.at;
  const last = (id: string, type: string): number | undefined => events.findLast((e) => e.taskId === id && e.type === type)?.at;
  return ids.map((id) => {
    const submittedAt = first(id, 'submitted');
    const startedAt = last(id, 'started');
    const endedAt = last(id, 'succeeded');
    if (submittedAt === undefined || startedAt === undefined || endedAt === undefined) {
      throw new Error(`task ${id}: no ${submittedAt === undefined ? 'submitted' : startedAt === undefined ? 'started' : 'succeeded'} event`);
    }
    return { id, submittedAt, startedAt, endedAt };
  });
}

export interface RunFigures {
  /** First submission → last end. */
  makespanMs: number;
  /** 95th percentile (nearest rank) of submission → start. */
  p95WaitMs: number;
  /** Time the tasks ran ÷ (makespan × slots), in percent. */
  utilisationPct: number;
}

export function runFigures(times: readonly TaskTimes[], slots: number): RunFigures {
  if (times.length === 0) throw new RangeError('runFigures: no tasks');
  const from = Math.min(...times.map((t) => t.submittedAt));
  const makespanMs = Math.max(...times.map((t) => t.endedAt)) - from;
  const busy = times.reduce((sum, t) => sum + (t.endedAt - t.startedAt), 0);
  return {
    makespanMs,
    p95WaitMs: percentile(times.map((t) => t.startedAt - t.submittedAt), 95),
    utilisationPct: makespanMs > 0 ? (100 * busy) / (makespanMs * slots) : 0,
  };
}

/**
 * The most tasks running at once under each manager, replaying `events` in order: a `started`
 * counts against the manager `managerOf` names for the task, until the event that ends that run.
 */
export function peakByManager(events: readonly RunEvent[], managerOf: (id: string) => string | undefined): Map<string, number> {
  const running = new Map<string, string>();
  const now = new Map<string, number>();
  const peak = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'started') {
      const m = managerOf(e.taskId);
      if (m === undefined) continue;
      running.set(e.taskId, m);
      const n = (now.get(m) ?? 0) + 1;
      now.set(m, n);
      peak.set(m, Math.max(peak.get(m) ?? 0, n));
    } else if (RUN_ENDS.has(e.type) && running.has(e.taskId)) {
      const m = running.get(e.taskId)!;
      running.delete(e.taskId);
      now.set(m, now.get(m)! - 1);
    }
  }
  return peak;
}

/** Per task id, how many events of `type` it had. */
export function countByTask(events: readonly RunEvent[], type: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of events) if (e.type === type) out.set(e.taskId, (out.get(e.taskId) ?? 0) + 1);
  return out;
}

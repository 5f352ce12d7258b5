/**
 * The task graphs of bench workload `graph`, deterministic from their sizes (and a seed), and a
 * zero-overhead list-scheduling simulation to predict their makespans. Pure, no I/O.
 */
import TinyQueue from 'tinyqueue';
import { fmix32 } from './hash.js';

/** One task: its name, the names of its parents, and how long it runs (0: a no-op). */
export interface ShapeTask {
  name: string;
  dependsOn: string[];
  ms: number;
}

/**
 * A wide DAG of `tasks` no-op tasks: `width` roots, then layers of `width` tasks (the last may be
 * shorter), each depending on 1–3 distinct tasks of the layer before, picked by hashing `seed`.
 */
export function wideDag(tasks: number, width: number, seed: number): ShapeTask[] {
  const out: ShapeTask[] = [];
  for (let i = 0; i < tasks; i += 1) {
    const layer = Math.floor(i / width);
    const dependsOn = new Set<string>();
    if (layer > 0) {
      const first = (layer - 1) * width;
      const wanted = Math.min(width, 1 + (fmix32(seed ^ Math.imul(i, 0x9e3779b1)) % 3));
      for (let j = 0; dependsOn.size < wanted; j += 1) dependsOn.add(`t${first + (fmix32(seed + i * 4 + j + 1) % width)}`);
    }
    out.push({ name: `t${i}`, dependsOn: [...dependsOn], ms: 0 });
  }
  return out;
}

/** A chain of `length` tasks of `ms` each: `${prefix}1 ← ${prefix}2 ← …`. */
export function chain(length: number, ms: number, prefix = 'c'): ShapeTask[] {
  return Array.from({ length }, (_, i) => ({ name: `${prefix}${i + 1}`, dependsOn: i === 0 ? [] : [`${prefix}${i}`], ms }));
}

/** `count` independent tasks of `ms` each. */
export function independent(count: number, ms: number, prefix = 's'): ShapeTask[] {
  return Array.from({ length: count }, (_, i) => ({ name: `${prefix}${i + 1}`, dependsOn: [], ms }));
}

/** Number of parent → child edges. */
export function edgeCount(tasks: readonly ShapeTask[]): number {
  return tasks.reduce((n, t) => n + t.dependsOn.length, 0);
}

interface Ready {
  task: ShapeTask;
  rank: number;
  /** The order it became ready in: ties of rank go first come, first served. */
  seq: number;
}

/** How a simulated scheduler refills the slot of a task that ended. */
export interface ListScheduleOptions {
  /** Ready task priority: higher first (default: all equal, first ready first). */
  rank?: (name: string) => number;
  /**
   * True (default): a task's children are released before its slot is refilled. False: the slot
   * goes to what was ready before, and the children wait for the next free slot.
   */
  childrenFirst?: boolean;
}

/**
 * The makespan of greedy list scheduling on `slots` slots with zero overhead: whenever a slot is
 * free it takes the ready task of highest rank (ties: first ready first; tasks ready at the
 * start in the given order), as Troupe's scheduler does within a priority level.
 */
export function listScheduleMakespan(tasks: readonly ShapeTask[], slots: number, options: ListScheduleOptions = {}): number {
  const { rank = () => 0, childrenFirst = true } = options;
  const children = new Map<string, string[]>(tasks.map((t) => [t.name, []]));
  const waiting = new Map<string, number>();
  for (const t of tasks) {
    waiting.set(t.name, t.dependsOn.length);
    for (const p of t.dependsOn) children.get(p)!.push(t.name);
  }
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const ready = new TinyQueue<Ready>([], (a, b) => b.rank - a.rank || a.seq - b.seq);
  let seq = 0;
  const release = (t: ShapeTask): void => ready.push({ task: t, rank: rank(t.name), seq: seq++ });
  const running = new TinyQueue<{ end: number; task: ShapeTask }>([], (a, b) => a.end - b.end);
  let now = 0;
  const fill = (): void => {
    while (running.length < slots && ready.length > 0) {
      const { task } = ready.pop()!;
      running.push({ end: now + task.ms, task });
    }
  };
  for (const t of tasks) if (t.dependsOn.length === 0) release(t);
  for (let done = 0; done < tasks.length; ) {
    fill();
    if (running.length === 0) throw new Error('listScheduleMakespan: the graph has a cycle or an unknown parent');
    now = running.peek()!.end;
    const ended: ShapeTask[] = [];
    while (running.length > 0 && running.peek()!.end === now) ended.push(running.pop()!.task);
    done += ended.length;
    if (!childrenFirst) fill();
    for (const task of ended) {
      for (const c of children.get(task.name)!) {
        const left = waiting.get(c)! - 1;
        waiting.set(c, left);
        if (left === 0) release(byName.get(c)!);
      }
    }
  }
  return now;
}

/**
 * Running the graphs of bench workload `graph` through Troupe: the runtime, the submissions and
 * the check that every task ran after its parents, read back from the runtime's own records.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Supervisor, type GraphTaskRequest, type SubmitRequest, type TaskInfo } from '../index.js';
import type { ShapeTask } from './graph-shapes.js';

/** The no-op agent (returns its input) and the timer agent (waits `latencyMs`, returns `id`). */
export const NOOP = 'noop';
export const SLEEP = 'sleep';
export const NOOP_MODULE = fileURLToPath(new URL('./agents/noop.js', import.meta.url));
export const SLEEP_MODULE = fileURLToPath(new URL('./agents/io.js', import.meta.url));
/** Threads of the pool (the bench machines have 2 cores). */
export const THREADS = 2;

export interface GraphRuntime {
  sup: Supervisor;
  close(): Promise<void>;
}

/**
 * A runtime on 2 fixed threads with both agents, the timer agent capped at `slots` tasks at once
 * (each thread can hold them all: the cap, not the threads, is the limit); no journal, or an
 * fsynced one in a fresh directory removed on close. Primed: both threads have run tasks.
 */
export async function startGraphRuntime(journal: 'memory' | 'fsync', slots = 1): Promise<GraphRuntime> {
  const dir = journal === 'fsync' ? mkdtempSync(join(tmpdir(), 'troupe-bench-graph-')) : undefined;
  const remove = (): void => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const sup = await Supervisor.start({
      ...(dir === undefined ? { journal: ':memory:' } : { journal: join(dir, 'journal.db'), durability: 'fsync' as const }),
      pool: { minThreads: THREADS, maxThreads: THREADS, concurrentTasksPerWorker: slots },
      agents: { [NOOP]: { module: NOOP_MODULE }, [SLEEP]: { module: SLEEP_MODULE, concurrency: slots } },
    });
    await Promise.all(Array.from({ length: 4 * THREADS }, (_, i) => sup.submit({ agent: NOOP, input: i }).then((id) => sup.result(id))));
    return {
      sup,
      close: async () => {
        try {
          await sup.shutdown();
        } finally {
          remove();
        }
      },
    };
  } catch (err) {
    remove();
    throw err;
  }
}

/** Runs `body` on a fresh runtime and always closes it. */
export async function withRuntime<T>(journal: 'memory' | 'fsync', slots: number, body: (sup: Supervisor) => Promise<T>): Promise<T> {
  const rt = await startGraphRuntime(journal, slots);
  try {
    return await body(rt.sup);
  } finally {
    await rt.close();
  }
}

/** What a task of a shape is sent: no-op tasks their index, timed ones `{ id, latencyMs }`. */
function request(t: ShapeTask, i: number): SubmitRequest {
  return t.ms === 0 ? { agent: NOOP, input: i } : { agent: SLEEP, input: { id: i, latencyMs: t.ms } };
}

/** The shape as `submitGraph()` takes it; with `weighted`, each task's duration as `estimatedMs`. */
export function graphRequests(tasks: readonly ShapeTask[], weighted: boolean): GraphTaskRequest[] {
  return tasks.map((t, i) => ({
    ...request(t, i),
    name: t.name,
    ...(t.dependsOn.length === 0 ? {} : { dependsOn: t.dependsOn }),
    ...(weighted && t.ms > 0 ? { estimatedMs: t.ms } : {}),
  }));
}

/** The shape with its edges dropped, as `submitBatch()` takes it. */
export function flatRequests(tasks: readonly ShapeTask[]): SubmitRequest[] {
  return tasks.map(request);
}

/**
 * Submits the shape with `submit()`, one task at a time in the given order (parents first), each
 * naming its parents by id: no graph, so no rank; the scheduler runs ready tasks first come,
 * first served. Resolves with the ids by name.
 */
export async function submitOneByOne(sup: Supervisor, tasks: readonly ShapeTask[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const [i, t] of tasks.entries()) {
    const dependsOn = t.dependsOn.map((p) => ids[p]!);
    ids[t.name] = await sup.submit({ ...request(t, i), ...(dependsOn.length === 0 ? {} : { dependsOn }) });
  }
  return ids;
}

/** Awaits every task's result and checks it: a no-op returns its index, a timed task its id. */
export async function awaitAll(sup: Supervisor, tasks: readonly ShapeTask[], ids: readonly string[]): Promise<void> {
  const results = await Promise.all(ids.map((id) => sup.result(id)));
  results.forEach((r, i) => {
    if (r !== i) throw new Error(`bench graph: task ${tasks[i]!.name} returned ${JSON.stringify(r)}, expected ${i}`);
  });
}

/** What the runtime recorded of a graph's run, checked. */
export interface OrderCheck {
  /** Edges whose child started at or after its parent finished (all of them, or this throws). */
  edges: number;
  /** Per edge, from the parent's recorded finish to the child's recorded start, in µs. */
  gapsUs: number[];
}

/**
 * Checks from the runtime's records (`sup.get()`) that every task succeeded, once, and started
 * no earlier than each of its parents finished. Throws naming the first task that did not.
 */
export function checkOrder(sup: Supervisor, tasks: readonly ShapeTask[], ids: Readonly<Record<string, string>>): OrderCheck {
  const info = (name: string): TaskInfo => {
    const t = sup.get(ids[name]!);
    if (t?.state !== 'succeeded' || t.startedAt === undefined || t.finishedAt === undefined || t.starts !== 1) {
      throw new Error(`bench graph: task ${name} did not succeed exactly once (${JSON.stringify(t && { state: t.state, starts: t.starts })})`);
    }
    return t;
  };
  const gapsUs: number[] = [];
  for (const t of tasks) {
    const child = info(t.name);
    for (const p of t.dependsOn) {
      const parent = info(p);
      if (child.startedAt! < parent.finishedAt!) {
        throw new Error(`bench graph: task ${t.name} started ${parent.finishedAt! - child.startedAt!} ms before its parent ${p} finished`);
      }
      gapsUs.push((child.startedAt! - parent.finishedAt!) * 1000);
    }
  }
  return { edges: gapsUs.length, gapsUs };
}

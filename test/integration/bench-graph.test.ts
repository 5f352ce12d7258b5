import { describe, expect, it } from 'vitest';
import type { TroupeEvent } from '../../dist/index.js';
import { awaitAll, checkOrder, graphRequests, submitOneByOne } from '../../dist/bench/graph-run.js';
import { chain, independent, wideDag, type ShapeTask } from '../../dist/bench/graph-shapes.js';
import { agentPath, record, start } from '../helpers.js';

/** Per task id, the index in `events` of its one `started` and its one `succeeded` (fails on a repeat). */
function positions(events: readonly TroupeEvent[]): Map<string, { started: number; succeeded: number }> {
  const at = new Map<string, { started: number; succeeded: number }>();
  events.forEach((e, i) => {
    if (e.type !== 'started' && e.type !== 'succeeded') return;
    const p = at.get(e.taskId) ?? { started: -1, succeeded: -1 };
    expect(p[e.type], `${e.type} twice for ${e.taskId}`).toBe(-1);
    p[e.type] = i;
    at.set(e.taskId, p);
  });
  return at;
}

/** Every task started and succeeded once, each start after the success of every parent. */
function expectTopological(events: readonly TroupeEvent[], tasks: readonly ShapeTask[], ids: Record<string, string>): number {
  const at = positions(events);
  let edges = 0;
  for (const t of tasks) {
    const child = at.get(ids[t.name]!);
    expect(child, t.name).toBeDefined();
    expect(child!.started, t.name).toBeGreaterThanOrEqual(0);
    expect(child!.succeeded, t.name).toBeGreaterThan(child!.started);
    for (const p of t.dependsOn) {
      expect(child!.started, `${t.name} after ${p}`).toBeGreaterThan(at.get(ids[p]!)!.succeeded);
      edges += 1;
    }
  }
  return edges;
}

describe('bench graph: the workload\'s graphs through a real runtime', () => {
  it('a wide DAG via submitGraph(): every task starts after all its parents succeeded, per the event stream and the records', async () => {
    const sup = await start({ pool: { minThreads: 2, maxThreads: 2 }, agents: { noop: { module: agentPath('noop') } } });
    const events = record(sup);
    const tasks = wideDag(600, 40, 11);
    const ids = await sup.submitGraph(graphRequests(tasks, false));
    await awaitAll(sup, tasks, tasks.map((t) => ids[t.name]!));
    const edges = expectTopological(events, tasks, ids);
    expect(edges).toBeGreaterThanOrEqual(560);
    // The workload's own check, from sup.get(), agrees on every edge.
    expect(checkOrder(sup, tasks, ids).edges).toBe(edges);
    // Blocked tasks are announced as they unblock: one 'unblocked' per task with parents.
    expect(events.filter((e) => e.type === 'unblocked')).toHaveLength(560);
  });

  it('the FIFO path (submit() one by one with dependsOn ids, no rank) keeps the order too; a broken order is caught', async () => {
    const sup = await start({ pool: { minThreads: 2, maxThreads: 2 }, agents: { noop: { module: agentPath('noop') } } });
    const events = record(sup);
    // ms 0: the no-op agent (named 'noop' in the requests) runs them.
    const tasks = [...chain(30, 0), ...independent(30, 0)];
    const fifo = await submitOneByOne(sup, tasks);
    await awaitAll(sup, tasks, tasks.map((t) => fifo[t.name]!));
    expect(expectTopological(events, tasks, fifo)).toBe(29);
    expect(checkOrder(sup, tasks, fifo).edges).toBe(29);
    expect(sup.get(fifo.c2!)?.rank).toBeUndefined();
    // Read against a reversed chain, the same records show children that ran before their parents.
    const reversed = tasks.map((t) => (t.name.startsWith('c') ? { ...t, dependsOn: t.name === 'c30' ? [] : [`c${Number(t.name.slice(1)) + 1}`] } : t));
    expect(() => checkOrder(sup, reversed, fifo)).toThrow(/started .* before its parent/);
  });
});

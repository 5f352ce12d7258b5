import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Supervisor, TroupeEvent } from '../../dist/index.js';
import { agentPath, commandPath, gate, record, start, tempDir, waitFor } from '../helpers.js';

const pool = { minThreads: 2, maxThreads: 8 };
/** Managers are long-running command tasks (no pool thread held); their specialists run on the pool. */
const agents = {
  manager: { command: process.execPath, args: [commandPath('wait')], input: 'stdin' as const, maxChildren: 3 },
  plain: { command: process.execPath, args: [commandPath('wait')], input: 'stdin' as const },
  sleep: { module: agentPath('sleep') },
  whoami: { module: agentPath('whoami') },
};

/** The most tasks ever running at once under each manager, counted from the events. */
function perManagerPeak(sup: Supervisor, events: TroupeEvent[]): Map<string, number> {
  const now = new Map<string, number>();
  const peak = new Map<string, number>();
  for (const e of events) {
    if (e.type !== 'started' && e.type !== 'succeeded' && e.type !== 'failed' && e.type !== 'cancelled') continue;
    const m = sup.get(e.taskId)?.managerId;
    if (m === undefined) continue;
    const n = (now.get(m) ?? 0) + (e.type === 'started' ? 1 : -1);
    now.set(m, n);
    peak.set(m, Math.max(peak.get(m) ?? 0, n));
  }
  return peak;
}

async function managers(sup: Supervisor, n: number): Promise<{ ids: string[]; release(): void }> {
  const g = gate();
  const ids = await Promise.all(Array.from({ length: n }, () => sup.submit({ agent: 'manager', input: { gate: g.path } })));
  await waitFor(() => ids.every((id) => sup.get(id)?.state === 'running'), 'managers running');
  return { ids, release: g.open };
}

const work = (n: number, repo = (i: number) => `repo-${i % 5}`) => Array.from({ length: n }, (_, i) => ({ agent: 'sleep', input: { ms: 10 + ((i * 37) % 90), repo: repo(i) } }));

describe('distribute(): tasks spread over manager tasks', () => {
  it('at-dispatch (default) binds each task when it starts, never past a manager\'s maxChildren, all in the tree', async () => {
    const sup = await start({ journal: join(tempDir(), 'j.db'), pool, agents });
    const events = record(sup);
    const m = await managers(sup, 3);
    const { ids, bindings } = await sup.distribute(work(20), { managers: m.ids });
    // Bound when dispatched: by the time the submission is durable, the first ones may be already.
    expect(Object.values(bindings).every((b) => b === null || m.ids.includes(b))).toBe(true);
    await Promise.all(ids.map((id) => sup.result(id)));
    for (const id of ids) expect(m.ids).toContain(sup.get(id)!.managerId);
    const peaks = perManagerPeak(sup, events);
    expect([...peaks.values()].every((p) => p <= 3), JSON.stringify([...peaks])).toBe(true);
    const bound = m.ids.map((id) => sup.get(id)!.bound?.succeeded ?? 0);
    expect(bound.reduce((a, b) => a + b)).toBe(20);
    expect(m.ids.flatMap((id) => sup.tree(id)!.children.map((c) => c.task.id)).sort()).toEqual([...ids].sort());
    // A handler knows the manager it runs under.
    const [who] = (await sup.distribute([{ agent: 'whoami' }], { managers: m.ids })).ids;
    expect(await sup.result(who!)).toEqual({ taskId: who, managerId: sup.get(who!)!.managerId });
    expect(m.ids).toContain(sup.get(who!)!.managerId);
    // Its manager's subtree holds it (a manager's task token reaches the tasks bound to it); another's does not.
    expect(sup.inSubtree(sup.get(who!)!.managerId!, who!)).toBe(true);
    expect(sup.inSubtree(m.ids.find((id) => id !== sup.get(who!)!.managerId)!, who!)).toBe(false);
    m.release();
  });

  it('push strategies bind at submission: round-robin in turn, consistent-hash by key, least-loaded and capacity-aware by load', async () => {
    const sup = await start({ journal: ':memory:', pool, agents });
    const m = await managers(sup, 3);
    const count = (b: Record<string, string | null>) => m.ids.map((id) => Object.values(b).filter((x) => x === id).length);
    const rr = await sup.distribute(work(20), { managers: m.ids, strategy: 'round-robin' });
    expect(count(rr.bindings)).toEqual([7, 7, 6]);
    const hashed = await sup.distribute(work(30), { managers: m.ids, strategy: 'consistent-hash', hashField: 'input.repo' });
    const byRepo = new Map<string, Set<string>>();
    hashed.ids.forEach((id, i) => {
      const repo = `repo-${i % 5}`;
      byRepo.set(repo, (byRepo.get(repo) ?? new Set()).add(hashed.bindings[id]!));
    });
    expect([...byRepo.values()].every((s) => s.size === 1)).toBe(true);
    // Least-loaded counts what is bound and not done: a fresh manager takes the next ones first.
    const fresh = await managers(sup, 1);
    const ll = await sup.distribute(work(2), { managers: [...m.ids, ...fresh.ids], strategy: 'least-loaded' });
    expect(Object.values(ll.bindings)).toEqual([fresh.ids[0], fresh.ids[0]]);
    const ca = await sup.distribute(work(1), { managers: [...m.ids, ...fresh.ids], strategy: 'capacity-aware' });
    expect(Object.values(ca.bindings)).toEqual([fresh.ids[0]]);
    await Promise.all([...rr.ids, ...hashed.ids, ...ll.ids, ...ca.ids].map((id) => sup.result(id)));
    m.release();
    fresh.release();
  });

  it('a manager that ends hands its waiting tasks to the others: none lost, none run twice', async () => {
    const sup = await start({ journal: join(tempDir(), 'j.db'), pool, agents });
    const events = record(sup);
    const m = await managers(sup, 3);
    const g = gate();
    const slow = Array.from({ length: 12 }, () => ({ agent: 'sleep', input: { ms: 300 } }));
    const { ids, bindings } = await sup.distribute(slow, { managers: m.ids, strategy: 'round-robin' });
    const victim = m.ids[0]!;
    const mine = ids.filter((id) => bindings[id] === victim);
    expect(mine).toHaveLength(4);
    await sup.cancel(victim, 'manager killed mid-run');
    await Promise.all(ids.map((id) => sup.result(id)));
    const moved = mine.filter((id) => sup.get(id)!.managerId !== victim);
    expect(moved.length).toBeGreaterThan(0); // at least the ones still waiting moved
    for (const id of moved) expect(m.ids.slice(1)).toContain(sup.get(id)!.managerId);
    for (const id of ids) expect(events.filter((e) => e.type === 'succeeded' && e.taskId === id)).toHaveLength(1);
    const peaks = perManagerPeak(sup, events);
    expect([...peaks.entries()].filter(([k]) => k !== victim).every(([, p]) => p <= 3)).toBe(true);
    g.open();
    m.release();
  });

  it('refuses bad options naming the field, and kills a task whose every manager ended (TROUPE_NO_MANAGER)', async () => {
    const sup = await start({ journal: ':memory:', pool, agents });
    const plain = await sup.submit({ agent: 'plain', input: {} });
    await waitFor(() => sup.get(plain)?.state === 'running', 'a task without maxChildren running');
    await expect(sup.distribute(work(1), { managers: ['nope'] })).rejects.toMatchObject({ code: 'TROUPE_UNKNOWN_TASK', details: { field: 'options.managers[0]' } });
    await expect(sup.distribute(work(1), { managers: [plain] })).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS', details: { field: 'options.managers[0]' } });
    const m = await managers(sup, 1);
    await expect(sup.distribute(work(1), { managers: m.ids, strategy: 'consistent-hash' })).rejects.toMatchObject({ details: { field: 'options.hashField' } });
    await expect(sup.distribute(work(1), { managers: m.ids, strategy: 'nearest' as never })).rejects.toMatchObject({ details: { field: 'options.strategy' } });
    // Its only manager is busy with 3 long tasks; the 4th waits, then the manager is cancelled.
    const long = Array.from({ length: 4 }, () => ({ agent: 'sleep', input: { ms: 60_000 } }));
    const { ids } = await sup.distribute(long, { managers: m.ids, strategy: 'round-robin' });
    await waitFor(() => ids.filter((id) => sup.get(id)?.state === 'running').length === 3, 'three running');
    const waiting = ids.find((id) => sup.get(id)!.state === 'queued')!;
    await sup.cancel(m.ids[0]!);
    await waitFor(() => sup.get(waiting)?.state === 'dead', 'the waiting task dead');
    expect(sup.get(waiting)!.error!.code).toBe('TROUPE_NO_MANAGER');
    await sup.cancel(plain);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentPath, concurrencyCounter, gate, record, start, tempDir, waitFor } from '../helpers.js';

const pool = { minThreads: 2, maxThreads: 8 };

function agents(extra: Record<string, unknown> = {}) {
  return {
    manager: { module: agentPath('manager'), maxChildren: 2, ...extra },
    gate: { module: agentPath('gate') },
    fail: { module: agentPath('fail'), retry: { attempts: 1 } },
    sleep: { module: agentPath('sleep') },
  };
}

describe('child tasks: ctx.submit and ctx.wait', () => {
  it('runs a parent\'s children under maxChildren, gives their outcomes without throwing, and shows the tree', async () => {
    // In memory: the shared counter (a SharedArrayBuffer) crosses threads but cannot be journaled.
    const sup = await start({ journal: ':memory:', pool, agents: agents() });
    const events = record(sup);
    const g = gate();
    const counter = concurrencyCounter();
    const children = [
      ...Array.from({ length: 5 }, (_, i) => ({ agent: 'gate', input: { gate: g.path, label: i, counter: counter.buffer } })),
      { agent: 'fail', input: { message: 'child failed on purpose' } },
    ];
    const parent = await sup.submit({ agent: 'manager', input: { children }, priority: 'high', group: 'team-a' });
    await waitFor(() => (sup.get(parent)?.children?.running ?? 0) + (sup.get(parent)?.children?.dead ?? 0) >= 2, 'two children under way');
    await waitFor(() => counter.current() === 2 || sup.get(parent)?.children?.running === 2, 'two children running');
    g.open();
    const result = await sup.result<{ ids: string[]; outcomes: { id: string; state: string; result?: { label: number }; error?: { message: string } }[] }>(parent);

    expect(counter.max()).toBeLessThanOrEqual(2); // maxChildren: 2
    expect(result.outcomes.map((o) => o.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded', 'dead']);
    expect(result.outcomes.slice(0, 5).map((o) => o.result!.label)).toEqual([0, 1, 2, 3, 4]);
    expect(result.outcomes[5]!.error!.message).toContain('child failed on purpose');
    expect(sup.get(parent)!.children).toEqual({ succeeded: 5, dead: 1 });
    const child = sup.get(result.ids[0]!)!;
    expect(child).toMatchObject({ parentId: parent, childKey: '#1', priority: 'high', group: 'team-a' });
    const tree = sup.tree(parent)!;
    expect(tree.task.id).toBe(parent);
    expect(tree.children.map((c) => c.task.id)).toEqual(result.ids);
    expect(events.filter((e) => e.type === 'submitted' && e.parentId === parent)).toHaveLength(6);
    expect(events.filter((e) => e.type === 'started' && 'parentId' in e && e.parentId === parent).length).toBeGreaterThanOrEqual(6);
  });

  it('returns the same children to a re-run parent: none is submitted twice', async () => {
    const dir = tempDir();
    const log = join(dir, 'calls.log');
    const sup = await start({ journal: join(dir, 'j.db'), pool, agents: agents({ retry: { attempts: 3, backoff: { initialMs: 1 } } }) });
    const children = [{ agent: 'sleep', input: { ms: 1 } }, { agent: 'sleep', input: { ms: 2 }, childKey: 'named' }, { agent: 'sleep', input: { ms: 3 } }];
    const parent = await sup.submit({ agent: 'manager', input: { children, log, failFirst: 2 } });
    const result = await sup.result<{ ids: string[] }>(parent);
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls.map((l) => l.split(' ')[0])).toEqual(['1', '2', '3']);
    expect(new Set(calls.map((l) => l.split(' ').slice(1).join(' ')))).toEqual(new Set([result.ids.join(' ')]));
    expect(sup.tree(parent)!.children).toHaveLength(3);
    expect(sup.get(result.ids[1]!)!.childKey).toBe('named');
  });

  it('cancelling a parent cancels its whole subtree; a parent that ends cancels or detaches its children by policy', async () => {
    const sup = await start({ journal: join(tempDir(), 'j.db'), pool, agents: { ...agents(), detacher: { module: agentPath('manager'), children: 'detach' } } });
    const g = gate();
    const leaf = { agent: 'gate', input: { gate: g.path } };
    const top = await sup.submit({ agent: 'manager', input: { children: [{ agent: 'manager', input: { children: [leaf, leaf] } }, leaf] } });
    await waitFor(() => sup.tree(top)!.children[0]?.children.length === 2, 'grandchildren submitted');
    expect(await sup.cancel(top)).toBe(true);
    const ids = (t: ReturnType<typeof sup.tree>): string[] => [t!.task.id, ...t!.children.flatMap((c) => ids(c))];
    await waitFor(() => ids(sup.tree(top)).every((id) => sup.get(id)!.state === 'cancelled'), 'every descendant cancelled');
    expect(sup.get(sup.tree(top)!.children[0]!.children[0]!.task.id)!.cancelReason).toMatch(/^parent .* was cancelled$/);

    // Ends without waiting: 'cancel' (the default) cancels its children, 'detach' leaves them running.
    const cancels = await sup.submit({ agent: 'manager', input: { children: [leaf], wait: false } });
    const detaches = await sup.submit({ agent: 'detacher', input: { children: [leaf], wait: false } });
    const [cancelled] = (await sup.result<{ ids: string[] }>(cancels)).ids;
    const [detached] = (await sup.result<{ ids: string[] }>(detaches)).ids;
    await waitFor(() => sup.get(cancelled!)!.state === 'cancelled', 'the child of a cancel parent cancelled');
    expect(sup.get(cancelled!)!.cancelReason).toMatch(/ended \(succeeded\)$/);
    expect(['queued', 'running']).toContain(sup.get(detached!)!.state);
    g.open();
    expect(await sup.result(detached!)).toMatchObject({ threadId: expect.any(Number) });
  });

  it('refuses a child of an unknown or ended parent, naming the field', async () => {
    const sup = await start({ journal: ':memory:', pool, agents: agents() });
    await expect(sup.submit({ agent: 'sleep', input: { ms: 1 }, parentId: 'nope' })).rejects.toMatchObject({ code: 'TROUPE_UNKNOWN_TASK', details: { field: 'task.parentId' } });
    const done = await sup.submit({ agent: 'sleep', input: { ms: 1 } });
    await sup.result(done);
    await expect(sup.submit({ agent: 'sleep', parentId: done })).rejects.toMatchObject({ code: 'TROUPE_INVALID_TASK', details: { field: 'task.parentId' } });
    await expect(sup.submit({ agent: 'sleep', childKey: 'k' })).rejects.toMatchObject({ code: 'TROUPE_INVALID_TASK', details: { field: 'task.childKey' } });
  });
});

import { describe, expect, it } from 'vitest';
import { agentPath, concurrencyCounter, gate, record, start, waitFor } from '../helpers.js';

describe('autoscaling pool', () => {
  it('grows from 2 towards 10 threads under a burst and shrinks back to 2 when idle', async () => {
    const g = gate();
    const counter = concurrencyCounter();
    const sup = await start({
      pool: { minThreads: 2, maxThreads: 10, idleTimeoutMs: 200, autoscaleIntervalMs: 20 },
      agents: { gate: { module: agentPath('gate') } },
    });
    const events = record(sup);
    expect(sup.snapshot().pool.size).toBe(2);

    const ids: string[] = [];
    for (let i = 0; i < 30; i += 1) ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, counter: counter.buffer } }));
    await waitFor(() => sup.snapshot().pool.size === 10 && counter.current() === 10, 'pool at 10 threads, 10 tasks running');
    expect(sup.snapshot().pool.target).toBe(10);
    expect(sup.snapshot().running).toBe(10);
    expect(sup.snapshot().queue.depth).toBe(20);

    g.open();
    await Promise.all(ids.map((id) => sup.result(id)));
    expect(counter.max()).toBe(10);
    await waitFor(() => sup.snapshot().pool.size === 2 && sup.snapshot().pool.target === 2, 'pool back at 2 threads');

    const sizes = events.flatMap((e) => (e.type === 'pool' ? [e.size] : []));
    expect(Math.max(...sizes)).toBe(10);
    expect(sizes.at(-1)).toBe(2);
  });

  it('respects a configured maximum', async () => {
    const g = gate();
    const counter = concurrencyCounter();
    const sup = await start({
      pool: { minThreads: 1, maxThreads: 3, idleTimeoutMs: 200, autoscaleIntervalMs: 20 },
      agents: { gate: { module: agentPath('gate') } },
    });
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, counter: counter.buffer } }));
    await waitFor(() => counter.current() === 3, '3 tasks running');
    expect(sup.snapshot().pool.size).toBeLessThanOrEqual(3);
    g.open();
    await Promise.all(ids.map((id) => sup.result(id)));
    expect(counter.max()).toBe(3);
  });
});

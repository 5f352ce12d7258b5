import { describe, expect, it } from 'vitest';
import { agentPath, concurrencyCounter, gate, start, waitFor } from '../helpers.js';

// A "witness" agent without limits is submitted after the limited tasks. The queue is FIFO within a
// priority level, so the witnesses only start if the scheduler held the limited lane back while the
// pool had room: at that moment the limited tasks' true concurrency is what the limit allows.
describe('concurrency limits', () => {
  it('never runs more tasks of an agent at once than its concurrency', async () => {
    const g = gate();
    const limited = concurrencyCounter();
    const witness = concurrencyCounter();
    const sup = await start({
      pool: { minThreads: 2, maxThreads: 10, autoscaleIntervalMs: 20 },
      agents: { limited: { module: agentPath('gate'), concurrency: 3 }, witness: { module: agentPath('gate') } },
    });
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) ids.push(await sup.submit({ agent: 'limited', input: { gate: g.path, counter: limited.buffer } }));
    for (let i = 0; i < 4; i += 1) ids.push(await sup.submit({ agent: 'witness', input: { gate: g.path, counter: witness.buffer } }));

    await waitFor(() => witness.current() === 4 && limited.current() === 3, 'witnesses running beside 3 limited tasks');
    expect(sup.snapshot().queue.depth).toBe(9);
    g.open();
    await Promise.all(ids.map((id) => sup.result(id)));
    expect(limited.max()).toBe(3);
    expect(sup.snapshot().counters.succeeded).toBe(16);
  });

  it('never lets more tasks hold a named resource than its concurrency, across agents', async () => {
    const g = gate();
    const holders = concurrencyCounter();
    const witness = concurrencyCounter();
    const sup = await start({
      pool: { minThreads: 2, maxThreads: 10, autoscaleIntervalMs: 20 },
      agents: { a: { module: agentPath('gate') }, b: { module: agentPath('gate') }, free: { module: agentPath('gate') } },
      resources: { 'mcp:github': { concurrency: 2 }, other: { concurrency: 5 } },
    });
    const ids: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      const agent = i % 2 === 0 ? 'a' : 'b';
      const resources = i % 3 === 0 ? ['mcp:github', 'other'] : ['mcp:github'];
      ids.push(await sup.submit({ agent, input: { gate: g.path, counter: holders.buffer }, resources }));
    }
    for (let i = 0; i < 3; i += 1) ids.push(await sup.submit({ agent: 'free', input: { gate: g.path, counter: witness.buffer } }));

    await waitFor(() => witness.current() === 3 && holders.current() === 2, 'witnesses running beside 2 resource holders');
    g.open();
    await Promise.all(ids.map((id) => sup.result(id)));
    expect(holders.max()).toBe(2);
  });
});

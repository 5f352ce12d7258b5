import { describe, expect, it } from 'vitest';
import { agentPath, concurrencyCounter, gate, start, waitFor } from '../helpers.js';

// pool.concurrentTasksPerWorker > 1: async module agents share threads.
describe('shared threads (concurrentTasksPerWorker > 1)', () => {
  it('runs up to concurrentTasksPerWorker tasks at once on one thread', async () => {
    const g = gate();
    const counter = concurrencyCounter();
    const sup = await start({ pool: { minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 4 }, agents: { gate: { module: agentPath('gate') } } });
    const ids = await Promise.all(Array.from({ length: 6 }, () => sup.submit({ agent: 'gate', input: { gate: g.path, counter: counter.buffer } })));
    await waitFor(() => counter.current() === 4, '4 handlers running at once on the one thread');
    expect(sup.snapshot().pool.size).toBe(1);
    g.open();
    const results = (await Promise.all(ids.map((id) => sup.result(id)))) as { threadId: number }[];
    expect(new Set(results.map((r) => r.threadId)).size).toBe(1);
    expect(counter.max()).toBe(4);
  });

  it('stopping a task that ignores its signal terminates its thread; the task sharing it fails as a thread death', async () => {
    const g = gate();
    const beats = new SharedArrayBuffer(4);
    const sup = await start({
      pool: { minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: 2 },
      agents: {
        // spin blocks its thread's event loop, so its partner must already be waiting there.
        gate: { module: agentPath('gate'), retry: { attempts: 1 } },
        spin: { module: agentPath('spin'), cancelGraceMs: 50 },
      },
    });
    const partner = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    await waitFor(() => sup.get(partner)?.progress !== undefined, 'partner waiting on the thread');
    const spinner = await sup.submit({ agent: 'spin', input: { beats } });
    await waitFor(() => Atomics.load(new Int32Array(beats), 0) > 0, 'spinner burning the shared thread');
    const threadId = (sup.get(spinner)!.progress as { threadId: number }).threadId;

    await expect(sup.cancel(spinner)).resolves.toBe(true);
    await expect(sup.result(partner)).rejects.toMatchObject({ cause: { code: 'TROUPE_THREAD_DIED' } });
    await waitFor(() => sup.snapshot().pool.threadIds.length === 1 && !sup.snapshot().pool.threadIds.includes(threadId), 'thread replaced');
    const still = Atomics.load(new Int32Array(beats), 0);
    const echo = await sup.submit({ agent: 'gate', input: { gate: (g.open(), g.path) } });
    await sup.result(echo);
    expect(Atomics.load(new Int32Array(beats), 0)).toBe(still);
  });
});

import { describe, expect, it } from 'vitest';
import { BATCH_MAX_TASKS } from '../../dist/actors/agent/batching.js';
import { agentPath, gate, start, waitFor } from '../helpers.js';

describe('credit-based flow control', () => {
  // 5,000 is far past what the pool may hold (4 slots; at most 260 started with short tasks): 20,000
  // proved no more, and took 3 s on an idle machine but 53 s at a load of 14 on 2 cores.
  it('keeps a burst of 5,000 submissions in the Queue: the pool holds its slots of long tasks, and of short ones two batches per slot', async () => {
    const g = gate();
    const sup = await start({
      pool: { minThreads: 2, maxThreads: 4, autoscaleIntervalMs: 20 },
      agents: { gate: { module: agentPath('gate') } },
    });
    const n = 5_000;
    const ids = await Promise.all(Array.from({ length: n }, () => sup.submit({ agent: 'gate', input: { gate: g.path } })));
    await waitFor(() => sup.snapshot().running === 4, 'pool saturated');
    const snap = sup.snapshot();
    // Tasks handed to the pool are exactly the running ones: its own queue holds nothing extra.
    expect(snap.pool.busy).toBe(4);
    expect(snap.queue.depth).toBe(n - 4);
    expect(snap.counters.submitted).toBe(n);

    // Running = started minus finished, tracked from the event stream itself.
    let running = 4;
    let maxRunning = running;
    const sub = sup.events$.subscribe((e) => {
      if (e.type === 'started') maxRunning = Math.max(maxRunning, ++running);
      if (e.type === 'succeeded' || e.type === 'failed' || e.type === 'cancelled') running -= 1;
    });
    g.open();
    await Promise.all(ids.map((id) => sup.result(id)));
    sub.unsubscribe();
    // Once the tasks are known to be short they share pool messages: started but not yet on a thread
    // are at most the credits of 4 slots (one each, and two full batches each while runs are short).
    expect(maxRunning).toBeLessThanOrEqual(4 * (1 + 2 * BATCH_MAX_TASKS));
    expect(sup.snapshot().counters.succeeded).toBe(n);
  });
});

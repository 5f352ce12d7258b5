import { describe, expect, it } from 'vitest';
import { Supervisor } from '../../dist/index.js';
import { agentPath, concurrencyCounter, gate, record, waitFor } from '../helpers.js';

describe('shutdown', () => {
  it('lets running tasks finish within the deadline', async () => {
    const g = gate();
    const sup = await Supervisor.start({ agents: { gate: { module: agentPath('gate') } } });
    const ids = [await sup.submit({ agent: 'gate', input: { gate: g.path } }), await sup.submit({ agent: 'gate', input: { gate: g.path } })];
    await waitFor(() => ids.every((id) => sup.get(id)?.state === 'running'), 'both running');

    const report = sup.shutdown({ timeoutMs: 60_000 }); // a ceiling: the gate opens at once
    await expect(sup.submit({ agent: 'gate', input: {} })).rejects.toMatchObject({ code: 'TROUPE_SHUTTING_DOWN' });
    g.open();
    await expect(report).resolves.toEqual({ cancelledRunning: 0, cancelledQueued: 0, kept: 0 });
    expect(ids.map((id) => sup.get(id)?.state)).toEqual(['succeeded', 'succeeded']);
  });

  it('cancels what outlives the deadline and every queued task, stopping the handlers', async () => {
    const g = gate();
    const counter = concurrencyCounter();
    const sup = await Supervisor.start({
      pool: { minThreads: 2, maxThreads: 2 },
      // A grace past any delay of a loaded machine: a handler that did not stop by its signal is cut short.
      agents: { gate: { module: agentPath('gate'), concurrency: 2, cancelGraceMs: 60_000 } },
    });
    const events = record(sup);
    const ids: string[] = [];
    for (let i = 0; i < 7; i += 1) ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, counter: counter.buffer } }));
    await waitFor(() => counter.current() === 2, 'two handlers running');

    await expect(sup.shutdown({ timeoutMs: 50 })).resolves.toEqual({ cancelledRunning: 2, cancelledQueued: 5, kept: 0 });
    expect(counter.current()).toBe(0);
    for (const id of ids) await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
    expect(sup.get(ids[0]!)).toMatchObject({ state: 'cancelled', cancelReason: 'shutdown' });
    expect(events.map((e) => e.type).filter((t) => t === 'draining' || t === 'stopped')).toEqual(['draining', 'stopped']);
    // A second call answers with the same report.
    await expect(sup.shutdown()).resolves.toEqual({ cancelledRunning: 2, cancelledQueued: 5, kept: 0 });
  });

  it('rejects a bad timeout', async () => {
    const sup = await Supervisor.start({ agents: { echo: { module: agentPath('echo') } } });
    await expect(sup.shutdown({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS' });
    await sup.shutdown({ timeoutMs: 0 });
  });
});

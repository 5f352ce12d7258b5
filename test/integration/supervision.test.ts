import { describe, expect, it } from 'vitest';
import { agentPath, gate, record, start, waitFor } from '../helpers.js';

describe('supervision', () => {
  it('restarts a crashed Queue; queued and running tasks carry on', async () => {
    const g = gate();
    const sup = await start({ pool: { minThreads: 2, maxThreads: 2 }, agents: { gate: { module: agentPath('gate'), concurrency: 1 } } });
    const events = record(sup);
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, label: i }, priority: i === 3 ? 'high' : 'normal' }));
    await waitFor(() => sup.get(ids[0]!)?.state === 'running', 'first running');

    await sup.injectFault('queue');
    await waitFor(() => events.some((e) => e.type === 'actor-restarted' && e.actor === 'queue'), 'queue restarted');
    ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, label: 4 } }));
    g.open();
    const results = await Promise.all(ids.map((id) => sup.result(id)));
    expect(results.map((r) => (r as { label: number }).label)).toEqual([0, 1, 2, 3, 4]);
    const order = events.filter((e) => e.type === 'started').map((e) => ids.indexOf((e as { taskId: string }).taskId));
    expect(order).toEqual([0, 3, 1, 2, 4]); // the rebuilt queue kept priority and FIFO order
    expect(sup.snapshot().actors.restarts.queue).toBe(1);
    expect(events.find((e) => e.type === 'actor-crashed')).toMatchObject({ actor: 'queue', error: { message: 'fault injected into queue' } });
  });

  it('restarts a crashed Agent: its running tasks go back to the queue and run again', async () => {
    const g = gate();
    const sup = await start({ pool: { minThreads: 2, maxThreads: 2 }, agents: { gate: { module: agentPath('gate') } } });
    const events = record(sup);
    const ids = [await sup.submit({ agent: 'gate', input: { gate: g.path } }), await sup.submit({ agent: 'gate', input: { gate: g.path } })];
    await waitFor(() => ids.every((id) => sup.get(id)?.state === 'running'), 'both running');

    await sup.injectFault('agent');
    await waitFor(() => events.filter((e) => e.type === 'started').length === 4, 'both started again');
    expect(events.filter((e) => e.type === 'requeued').map((e) => (e as { reason: string }).reason)).toEqual(['agent restarted', 'agent restarted']);
    g.open();
    await Promise.all(ids.map((id) => sup.result(id)));
    expect(ids.map((id) => sup.get(id)?.attempt)).toEqual([2, 2]);
    expect(sup.snapshot().counters).toMatchObject({ started: 4, succeeded: 2, requeued: 2 });
  });

  it('shuts down cleanly, never half alive, once crashes exceed the restart intensity', async () => {
    const g = gate();
    const sup = await start({
      supervision: { maxRestarts: 1, periodMs: 60_000 },
      agents: { gate: { module: agentPath('gate'), concurrency: 1 } },
    });
    const events = record(sup);
    const running = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    const queued = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    await waitFor(() => sup.get(running)?.state === 'running', 'running');

    await sup.injectFault('metrics');
    await waitFor(() => events.some((e) => e.type === 'actor-restarted'), 'first restart');
    await sup.injectFault('metrics');
    await waitFor(() => events.some((e) => e.type === 'stopped'), 'runtime stopped');

    await expect(sup.result(running)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
    await expect(sup.result(queued)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
    const err = await sup.submit({ agent: 'gate', input: {} }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TROUPE_SHUTTING_DOWN', cause: { code: 'TROUPE_RESTART_INTENSITY' } });
    expect(events.find((e) => e.type === 'stopped')).toMatchObject({ reason: 'restart intensity exceeded by metrics' });
  });

  it('rejects fault injection into an unknown actor', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    await expect(sup.injectFault('journal' as never)).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS' });
  });
});

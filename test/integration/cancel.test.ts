import { describe, expect, it } from 'vitest';
import { TroupeError } from '../../dist/index.js';
import { agentPath, concurrencyCounter, gate, record, start, waitFor } from '../helpers.js';

describe('cancellation of module agents', () => {
  it('drops a queued task: it never starts and result() rejects with TROUPE_TASK_CANCELLED', async () => {
    const g = gate();
    const sup = await start({ agents: { gate: { module: agentPath('gate'), concurrency: 1 } } });
    const events = record(sup);
    const first = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    const queued = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    await waitFor(() => sup.get(first)?.state === 'running', 'first running');

    await expect(sup.cancel(queued, 'not needed')).resolves.toBe(true);
    expect(sup.get(queued)).toMatchObject({ state: 'cancelled', cancelReason: 'not needed', attempt: 0 });
    await expect(sup.result(queued)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
    g.open();
    await sup.result(first);
    expect(events.some((e) => e.type === 'started' && e.taskId === queued)).toBe(false);
    expect(sup.snapshot().counters).toMatchObject({ started: 1, succeeded: 1, cancelled: 1 });
  });

  it('stops a running task that honours ctx.signal, and its slot is reused', async () => {
    const g = gate();
    const counter = concurrencyCounter();
    // A grace past any delay of a loaded machine: a handler cut short would leave the counter at 1.
    const sup = await start({ agents: { gate: { module: agentPath('gate'), concurrency: 1, cancelGraceMs: 60_000 } } });
    const running = await sup.submit({ agent: 'gate', input: { gate: g.path, counter: counter.buffer } });
    await waitFor(() => counter.current() === 1, 'handler running');

    await expect(sup.cancel(running)).resolves.toBe(true);
    expect(counter.current()).toBe(0); // the handler's finally block ran: it really stopped
    await expect(sup.result(running)).rejects.toBeInstanceOf(TroupeError);
    g.open();
    const next = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    await expect(sup.result(next)).resolves.toMatchObject({});
  });

  it('terminates the thread of a running task that ignores its signal', async () => {
    const beats = new Int32Array(new SharedArrayBuffer(4));
    const sup = await start({
      pool: { minThreads: 2, maxThreads: 2, autoscaleIntervalMs: 20 },
      agents: { spin: { module: agentPath('spin'), cancelGraceMs: 100 }, echo: { module: agentPath('echo') } },
    });
    const id = await sup.submit({ agent: 'spin', input: { beats: beats.buffer } });
    await waitFor(() => Atomics.load(beats, 0) > 0, 'spinning');
    const { threadId } = sup.get(id)!.progress as { threadId: number };
    expect(sup.snapshot().pool.threadIds).toContain(threadId);

    await expect(sup.cancel(id)).resolves.toBe(true);
    await waitFor(() => !sup.snapshot().pool.threadIds.includes(threadId), 'spinning thread gone from the pool');
    // The thread no longer runs: its counter stays still while other work goes through the pool.
    const frozen = Atomics.load(beats, 0);
    for (let i = 0; i < 4; i += 1) await sup.result(await sup.submit({ agent: 'echo', input: i }));
    expect(Atomics.load(beats, 0)).toBe(frozen);
    await waitFor(() => sup.snapshot().pool.size === 2, 'pool back to its minimum');
  });

  it('answers false for a finished task and rejects for an unknown id', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    const id = await sup.submit({ agent: 'echo', input: 1 });
    await sup.result(id);
    await expect(sup.cancel(id)).resolves.toBe(false);
    await expect(sup.cancel('nope')).rejects.toMatchObject({ code: 'TROUPE_UNKNOWN_TASK' });
    await expect(sup.result('nope')).rejects.toMatchObject({ code: 'TROUPE_UNKNOWN_TASK' });
    expect(sup.get('nope')).toBeUndefined();
  });
});

describe('result() with a signal', () => {
  it('gives up waiting when the signal aborts, and the task still completes for later waiters', async () => {
    const g = gate();
    const sup = await start({ agents: { gate: { module: agentPath('gate') } } });
    const id = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    const giveUp = new AbortController();
    const waiting = sup.result(id, { signal: giveUp.signal });
    giveUp.abort(new Error('stopped waiting'));
    await expect(waiting).rejects.toThrow('stopped waiting');
    await expect(sup.result(id, { signal: giveUp.signal })).rejects.toThrow('stopped waiting');
    g.open();
    await expect(sup.result(id)).resolves.toMatchObject({ threadId: expect.any(Number) });
    expect(sup.get(id)?.state).toBe('succeeded');
  });
});

import { describe, expect, it } from 'vitest';
import type { Supervisor, TroupeEvent } from '../../dist/index.js';
import { agentPath, commandPath, concurrencyCounter, failure, gate, manualClock, record, start, waitFor } from '../helpers.js';

// A pool thread that dies fails only the task it ran; Piscina replaces it; too many deaths in a
// period pause module launches. Threads are also recycled on purpose (task count, heap size), and
// recycling never fails a task.

const once = { retry: { attempts: 1 } };
const eventsOf = (events: TroupeEvent[], id: string, type: TroupeEvent['type']): TroupeEvent[] =>
  events.filter((e) => e.type === type && 'taskId' in e && e.taskId === id);


/** Waits until the pool lists exactly `n` distinct threads, none of them in `gone`; returns them. */
async function poolOf(sup: Supervisor, n: number, gone: readonly number[]): Promise<number[]> {
  const ok = (ids: number[]) => ids.length === n && new Set(ids).size === n && !ids.some((id) => gone.includes(id));
  await waitFor(() => ok(sup.snapshot().pool.threadIds), `${n} live threads, none of ${gone.join(', ')}`);
  return sup.snapshot().pool.threadIds;
}

/** The thread a gate.mjs task reports once it waits at its gate. */
const waitingOn = (sup: Supervisor, id: string): number | undefined =>
  (sup.get(id)?.progress as { threadId?: number; waiting?: boolean } | undefined)?.threadId;

/** Runs a command task (never held by the restart-rate limit) to its end. */
async function shell(sup: Supervisor, n: number): Promise<void> {
  expect(await sup.result(await sup.submit({ agent: 'shell', input: { n } }))).toMatchObject({ stdin: { n } });
}
const shellAgent = { command: process.execPath, args: [commandPath('echo')] };

describe('threads that die', () => {
  const deaths = [
    { how: 'process.exit()', agent: 'exit', input: { code: 3 }, reason: /code: 3/ },
    { how: 'an uncaught error', agent: 'uncaught', input: {}, reason: /uncaught in a timer/ },
    { how: 'running out of memory', agent: 'leak', input: undefined, reason: /memory/i },
  ];

  it.each(deaths)('a thread killed by $how fails only its own task, with TROUPE_THREAD_DIED', async ({ agent, input, reason }) => {
    const g = gate();
    const sup = await start({
      pool: { minThreads: 2, maxThreads: 2, autoscaleIntervalMs: 20, resourceLimits: { maxOldGenerationSizeMb: 32 } },
      breaker: false,
      agents: { [agent]: { module: agentPath(agent), ...once }, gate: { module: agentPath('gate') }, echo: { module: agentPath('echo') } },
    });
    const events = record(sup);
    // A bystander holds the other thread for the whole life and death of the victim's.
    const bystander = await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'bystander' } });
    await waitFor(() => waitingOn(sup, bystander) !== undefined, 'bystander at its gate');
    const bystanderThread = waitingOn(sup, bystander)!;
    // The victim can only run on the other thread.
    const dead = (await poolOf(sup, 2, [])).find((id) => id !== bystanderThread)!;
    const victim = await sup.submit({ agent, input });
    const queuedBehind = await sup.submit({ agent: 'echo', input: 'queued behind the victim' });

    const err = await failure(sup, victim);
    expect(err.cause).toMatchObject({ code: 'TROUPE_THREAD_DIED' });
    expect(err.cause.message).toMatch(reason);
    expect(sup.get(victim)!.history).toMatchObject([{ attempt: 1, error: { code: 'TROUPE_THREAD_DIED' } }]);

    // Nothing else was touched: the echo runs on the replacement thread, the bystander finishes on its own.
    expect(await sup.result(queuedBehind)).toMatchObject({ input: 'queued behind the victim' });
    expect(sup.get(bystander)!.state).toBe('running');
    g.open();
    expect(await sup.result(bystander)).toMatchObject({ label: 'bystander', threadId: bystanderThread });
    const after = await sup.result<{ threadId: number }>(await sup.submit({ agent: 'echo', input: 'after' }));
    expect(after.threadId).not.toBe(dead);
    const live = await poolOf(sup, 2, [dead]);
    expect(live).toContain(bystanderThread);
    expect(sup.snapshot().counters).toMatchObject({ failed: 1, dead: 1, succeeded: 3, retried: 0 });
    expect(eventsOf(events, victim, 'failed')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'actor-crashed')).toEqual([]);
  });

  it('replaces every dead thread: after several deaths the pool is back to minThreads distinct live threads', async () => {
    const g = gate();
    const sup = await start({
      pool: { minThreads: 2, maxThreads: 4, autoscaleIntervalMs: 20 },
      breaker: false,
      agents: { exit: { module: agentPath('exit'), ...once }, uncaught: { module: agentPath('uncaught'), ...once }, gate: { module: agentPath('gate') } },
    });
    const first = await poolOf(sup, 2, []);
    // Two at once (both threads die together), then one more.
    const together = [await sup.submit({ agent: 'exit', input: { code: 1 } }), await sup.submit({ agent: 'uncaught' })];
    for (const id of together) expect((await failure(sup, id)).cause).toMatchObject({ code: 'TROUPE_THREAD_DIED' });
    await poolOf(sup, 2, first);
    const last = await sup.submit({ agent: 'exit', input: { code: 2 } });
    expect((await failure(sup, last)).cause).toMatchObject({ code: 'TROUPE_THREAD_DIED' });
    // Its thread may be one of the replacements or one added for it while they started: either way it is gone.
    const lastThread = sup.get(last)!.history![0]!.threadId!;
    expect(lastThread).toEqual(expect.any(Number));
    await poolOf(sup, 2, [...first, lastThread]);
    const live = sup.snapshot().pool.threadIds;
    // Live, not just listed: two tasks held at once run on exactly these two threads.
    const held = [await sup.submit({ agent: 'gate', input: { gate: g.path } }), await sup.submit({ agent: 'gate', input: { gate: g.path } })];
    await waitFor(() => held.every((id) => waitingOn(sup, id) !== undefined), 'both held tasks on a thread');
    expect(held.map((id) => waitingOn(sup, id)).sort()).toEqual([...live].sort());
    g.open();
    for (const id of held) await sup.result(id);
    expect(sup.snapshot().counters).toMatchObject({ failed: 3, dead: 3, succeeded: 2 });
  });

  it('names the thread a run died on in its history, even when the main thread was busy as it died', async () => {
    const sup = await start({
      pool: { minThreads: 1, maxThreads: 1, autoscaleIntervalMs: 20 },
      breaker: false,
      agents: { exit: { module: agentPath('exit'), ...once }, echo: { module: agentPath('echo') } },
    });
    // Each round runs on the pool's only thread, a replacement from the second round on.
    for (const busy of [false, true, true]) {
      const { threadId } = await sup.result<{ threadId: number }>(await sup.submit({ agent: 'echo', input: 'where' }));
      const id = await sup.submit({ agent: 'exit' });
      await waitFor(() => sup.get(id)!.state === 'running', 'exit task started');
      // A main thread busy elsewhere (a burst of work) while the thread starts the task and dies.
      for (const end = Date.now() + (busy ? 300 : 0); Date.now() < end; );
      await failure(sup, id);
      expect({ busy, history: sup.get(id)!.history }).toMatchObject({ busy, history: [{ error: { code: 'TROUPE_THREAD_DIED' }, threadId }] });
    }
  });

  it('pauses module launches once threads die more often than threadRestarts allows, until the oldest death leaves the period', async () => {
    const clock = manualClock();
    const sup = await start({
      clock,
      pool: { minThreads: 2, maxThreads: 2, autoscaleIntervalMs: 20, threadRestarts: { maxDeaths: 1, periodMs: 60_000 } },
      breaker: false,
      agents: {
        exit: { module: agentPath('exit'), ...once },
        echo: { module: agentPath('echo') },
        shell: shellAgent,
      },
    });
    const events = record(sup);
    await failure(sup, await sup.submit({ agent: 'exit' }));
    // One death is within the limit: module tasks still launch.
    expect(await sup.result(await sup.submit({ agent: 'echo', input: 'after one death' }))).toMatchObject({ input: 'after one death' });

    await failure(sup, await sup.submit({ agent: 'exit' }));
    const held = await sup.submit({ agent: 'echo', input: 'held' });
    // Command agents are not held, and the pool has replaced its threads: everything else settles.
    await shell(sup, 1);
    await poolOf(sup, 2, []);
    await shell(sup, 2);
    expect(sup.get(held)!.state).not.toBe('succeeded');
    expect(sup.get(held)!.progress).toBeUndefined(); // it never reached a thread
    clock.advance(30_000); // half the period: the first death still counts
    await shell(sup, 3);
    expect(sup.get(held)!.progress).toBeUndefined();
    expect(eventsOf(events, held, 'succeeded')).toEqual([]);

    clock.advance(30_000); // the first death has left the period
    expect(await sup.result(held)).toMatchObject({ input: 'held' });
    expect(sup.snapshot().counters).toMatchObject({ failed: 2, dead: 2 });
  });

  it('keeps module launches paused while the deaths within the period still exceed the limit (deaths during a pause count)', async () => {
    const clock = manualClock();
    const g = gate();
    const sup = await start({
      clock,
      pool: { minThreads: 4, maxThreads: 4, autoscaleIntervalMs: 20, threadRestarts: { maxDeaths: 1, periodMs: 60_000 } },
      breaker: false,
      agents: {
        exit: { module: agentPath('exit'), ...once },
        doomed: { module: agentPath('limits-die-at-gate'), ...once },
        echo: { module: agentPath('echo') },
        shell: shellAgent,
      },
    });
    // Two tasks are on their threads when the pause begins; their threads die during it.
    const doomed = [await sup.submit({ agent: 'doomed', input: { gate: g.path } }), await sup.submit({ agent: 'doomed', input: { gate: g.path } })];
    await waitFor(() => doomed.every((id) => waitingOn(sup, id) !== undefined), 'doomed tasks on their threads');
    for (let i = 0; i < 2; i += 1) await failure(sup, await sup.submit({ agent: 'exit' })); // deaths 1 and 2 at 0 s: paused
    clock.advance(30_000);
    g.open();
    for (const id of doomed) expect((await failure(sup, id)).cause).toMatchObject({ code: 'TROUPE_THREAD_DIED' }); // deaths 3 and 4 at 30 s
    const held = await sup.submit({ agent: 'echo', input: 'held' });
    await shell(sup, 1);
    expect(sup.get(held)!.progress).toBeUndefined();

    clock.advance(30_000); // deaths 1 and 2 leave the period; 3 and 4, more than maxDeaths, are still in it
    await shell(sup, 2);
    expect(sup.get(held)!.progress).toBeUndefined(); // still paused: it never reached a thread
    expect(sup.get(held)!.state).not.toBe('succeeded');
    clock.advance(30_000); // deaths 3 and 4 leave the period
    expect(await sup.result(held)).toMatchObject({ input: 'held' });
    expect(sup.snapshot().counters).toMatchObject({ failed: 4, dead: 4 });
  });
});

describe('thread recycling', () => {
  it('recycles a thread after maxTasksPerThread tasks: 6 tasks, 3 threads, 2 tasks each, none failed', async () => {
    const sup = await start({
      pool: { minThreads: 1, maxThreads: 1, maxTasksPerThread: 2, autoscaleIntervalMs: 20 },
      agents: { echo: { module: agentPath('echo') } },
    });
    const threads: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      threads.push((await sup.result<{ threadId: number }>(await sup.submit({ agent: 'echo', input: i }))).threadId);
    }
    const distinct = [...new Set(threads)];
    expect(distinct).toHaveLength(3);
    const [a, b, c] = distinct;
    expect(threads).toEqual([a, a, b, b, c, c]);
    expect(sup.snapshot().counters).toMatchObject({ succeeded: 6, failed: 0, dead: 0 });
    // The third thread has had its share too: the pool is down to one fresh thread.
    await poolOf(sup, 1, distinct);
  });

  it('recycles a thread whose heap passes maxHeapMb after a task; the next task runs on a new thread', async () => {
    const sup = await start({
      pool: { minThreads: 1, maxThreads: 1, maxHeapMb: 20, autoscaleIntervalMs: 20 },
      agents: { echo: { module: agentPath('echo') }, leak: { module: agentPath('leak') } },
    });
    const echo = async (input: unknown) => (await sup.result<{ threadId: number }>(await sup.submit({ agent: 'echo', input }))).threadId;
    const first = await echo(1);
    expect(await echo(2)).toBe(first); // a small heap keeps its thread
    expect(await sup.result(await sup.submit({ agent: 'leak', input: { mb: 40 } }))).toEqual({ keptMb: 40 });
    const next = await echo(3);
    expect(next).not.toBe(first);
    expect(await echo(4)).toBe(next);
    expect(sup.snapshot().counters).toMatchObject({ succeeded: 5, failed: 0, dead: 0 });
    expect(await poolOf(sup, 1, [first])).toEqual([next]);
  });
});

describe('a cancel that comes as the task reaches its thread', () => {
  // The task reaches its thread through Piscina and the abort through Troupe's own port: the abort
  // must not be lost whichever comes first, nor while the thread is still starting. The clock only
  // moves if the test moves it, so the cancel grace never ends: a task can end only through its signal.
  //
  // A cancel sent from the 'started' event itself lands before the Agent launches the task (it is
  // dropped, and nothing reaches a thread), so the runs sweep the cancel later and later: at once,
  // then after 0 to 128 ms of timers, which puts it in flight, on a thread still starting, or on the
  // running handler (the sweep's times stretch with the machine's load, the paths stay the same).
  const delays = [undefined, 0, 1, 2, 4, 8, 16, 32, 64, 128];
  const runs = 2 * delays.length;

  /** Submits `runs` gate tasks one after another, each cancelled after its `started` event (see `delays`); returns the cancel answers. */
  async function cancelEachAsItStarts(sup: Supervisor, input: Record<string, unknown>, each?: (i: number) => void): Promise<boolean[]> {
    const cancels: Promise<boolean>[] = [];
    const sub = sup.events$.subscribe((e) => {
      if (e.type !== 'started') return;
      const delay = delays[cancels.length % delays.length];
      const cancel = () => sup.cancel(e.taskId, 'cancelled as it started');
      cancels.push(delay === undefined ? cancel() : new Promise((r) => setTimeout(r, delay)).then(cancel));
    });
    try {
      for (let i = 0; i < runs; i += 1) {
        const id = await sup.submit({ agent: 'gate', input });
        // waitFor's ceiling, no tighter one: a lost abort leaves the task running for good (its grace
        // never ends), while a loaded machine may take seconds to start a thread.
        await waitFor(() => sup.get(id)?.state === 'cancelled', `run ${i} cancelled through its signal`);
        each?.(i);
      }
    } finally {
      sub.unsubscribe();
    }
    return Promise.all(cancels);
  }

  it('stops a task on a thread still starting through its signal: every task on a fresh thread, 20 runs', async () => {
    const g = gate(); // never opened
    const counter = concurrencyCounter();
    const sup = await start({
      clock: manualClock(),
      // One task per thread: each task waits for a new thread to start, and is cancelled meanwhile.
      pool: { minThreads: 1, maxThreads: 1, maxTasksPerThread: 1, autoscaleIntervalMs: 20 },
      agents: { gate: { module: agentPath('gate'), cancelGraceMs: 60_000 } },
    });
    const answers = await cancelEachAsItStarts(sup, { gate: g.path, counter: counter.buffer }, (i) => {
      // No handler was cut short: each one that began stopped itself (its finally block ran).
      expect({ run: i, running: counter.current() }).toEqual({ run: i, running: 0 });
    });
    expect(answers).toEqual(new Array(runs).fill(true));
    expect(sup.snapshot().counters).toMatchObject({ cancelled: runs, failed: 0, dead: 0 });
  });

  it.each([1, 2])('stops a task on a warm thread through its signal, the thread kept: %i task(s) per thread, 20 runs', async (perThread) => {
    const g = gate(); // never opened
    const counter = concurrencyCounter();
    const sup = await start({
      clock: manualClock(),
      pool: { minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: perThread, autoscaleIntervalMs: 20 },
      agents: { gate: { module: agentPath('gate'), cancelGraceMs: 60_000 } },
    });
    const [thread] = await poolOf(sup, 1, []);
    const answers = await cancelEachAsItStarts(sup, { gate: g.path, counter: counter.buffer }, (i) => {
      expect({ run: i, running: counter.current(), threads: sup.snapshot().pool.threadIds }).toEqual({ run: i, running: 0, threads: [thread] });
    });
    expect(answers).toEqual(new Array(runs).fill(true));
    expect(sup.snapshot().counters).toMatchObject({ cancelled: runs, failed: 0, dead: 0 });
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Supervisor, TaskInfo, TroupeEvent } from '../../dist/index.js';
import { agentPath, commandPath, failure, gate, manualClock, record, start, tempDir, waitFor } from '../helpers.js';

// Breakers off: these tests fail tasks on purpose and look at retries alone.
const base = { breaker: false as const, pool: { minThreads: 2, maxThreads: 2 } };
const mod = (name: string, extra: Record<string, unknown> = {}) => ({ module: agentPath(name), ...extra });
const limited = { command: process.execPath, args: [commandPath('limited')] };

const of = <T extends TroupeEvent['type']>(events: TroupeEvent[], type: T, id: string) =>
  events.filter((e): e is Extract<TroupeEvent, { type: T }> => e.type === type && 'taskId' in e && e.taskId === id);


/** Waits until the task waits out a backoff after its `n`th unsuccessful run, and returns it. */
async function delayedAfter(sup: Supervisor, id: string, n: number): Promise<TaskInfo> {
  await waitFor(() => sup.get(id)?.state === 'delayed' && sup.get(id)?.history?.length === n, `task delayed after run ${n}`);
  return sup.get(id)!;
}

const dead = (sup: Supervisor, id: string) => waitFor(() => sup.get(id)?.state === 'dead', 'task dead');
const rejection = (p: Promise<unknown>) => p.then(() => { throw new Error('resolved'); }, (e: unknown) => e);

describe('retry: attempts and backoff', () => {
  it('retries a failing task until it succeeds and records every failed run in its history', async () => {
    const sup = await start({ ...base, agents: { attempts: mod('attempts') } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'attempts', input: { failures: 2 }, retry: { backoff: { initialMs: 0 } } });
    await expect(sup.result(id)).resolves.toMatchObject({ attempt: 3, threadId: expect.any(Number) });
    const info = sup.get(id)!;
    expect(info).toMatchObject({ state: 'succeeded', attempt: 3, failures: 2, starts: 3 });
    expect(info.history).toHaveLength(2);
    info.history!.forEach((h, i) => {
      expect(h).toMatchObject({ attempt: i + 1, error: { code: 'E_ATTEMPT', message: `attempt ${i + 1} failed` }, threadId: expect.any(Number) });
      expect(h.durationMs).toBeGreaterThanOrEqual(0);
      expect(h.endedAt - h.startedAt).toBe(h.durationMs);
      expect(h.interrupted).toBeUndefined();
    });
    const mine = events.filter((e) => 'taskId' in e && e.taskId === id).map((e) => e.type);
    expect(mine).toEqual(['submitted', 'started', 'failed', 'started', 'failed', 'started', 'succeeded']);
    // A zero delay: straight back to the queue, the retry time being the failure time.
    expect(of(events, 'failed', id).map((e) => [e.attempt, e.dead, e.retryAt! - e.at])).toEqual([[1, false, 0], [2, false, 0]]);
  });

  it('makes a task dead once its attempts (default 3) are used up; result() rejects with the last error', async () => {
    const sup = await start({ ...base, agents: { attempts: mod('attempts') } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'attempts', input: { failures: 9 }, retry: { backoff: { initialMs: 0 } } });
    const err = await failure(sup, id);
    expect(err.cause).toMatchObject({ code: 'E_ATTEMPT', message: 'attempt 3 failed' });
    expect(err.details.history!.map((h) => h.attempt)).toEqual([1, 2, 3]);
    expect(sup.get(id)).toMatchObject({ state: 'dead', attempt: 3, failures: 3, error: { code: 'E_ATTEMPT' } });
    expect(sup.get(id)?.retryAt).toBeUndefined();
    expect(of(events, 'failed', id).map((e) => e.dead)).toEqual([false, false, true]);
    expect(of(events, 'failed', id)[2]!.retryAt).toBeUndefined();
    expect(of(events, 'dead', id)).toEqual([expect.objectContaining({ agent: 'attempts', error: expect.objectContaining({ message: 'attempt 3 failed' }) })]);
    expect(of(events, 'started', id)).toHaveLength(3);
  });

  it('backs off exponentially up to maxMs: the task stays delayed until the clock reaches retryAt', async () => {
    const clock = manualClock();
    const backoff = { initialMs: 1_000, factor: 2, maxMs: 5_000, jitter: 0 };
    const sup = await start({ ...base, clock, agents: { attempts: mod('attempts', { retry: { attempts: 5, backoff } }) } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'attempts', input: { failures: 4 } });
    const expected = [1_000, 2_000, 4_000, 5_000]; // the last one capped (8 s)
    for (const [i, ms] of expected.entries()) {
      const info = await delayedAfter(sup, id, i + 1);
      const failed = of(events, 'failed', id)[i]!;
      expect(failed).toMatchObject({ attempt: i + 1, dead: false, retryAt: info.retryAt });
      expect(info.retryAt! - failed.at).toBe(ms);
      expect(info.retryAt! - info.history!.at(-1)!.endedAt).toBe(ms);
      expect(info).toMatchObject({ attempt: i + 1, failures: i + 1 });
      expect(of(events, 'started', id)).toHaveLength(i + 1); // no run before the clock moves
      clock.advance(ms);
    }
    await expect(sup.result(id)).resolves.toMatchObject({ attempt: 5 });
    expect(of(events, 'failed', id).map((e) => e.retryAt! - e.at)).toEqual(expected);
  });

  it("lets a task's retry options override its agent's", async () => {
    const clock = manualClock();
    const sup = await start({ ...base, clock, agents: { attempts: mod('attempts', { retry: { attempts: 2, backoff: { initialMs: 5_000, jitter: 0 } } }) } });
    const plain = await sup.submit({ agent: 'attempts', input: { failures: 3 } });
    expect((await delayedAfter(sup, plain, 1)).retryAt! - sup.get(plain)!.history![0]!.endedAt).toBe(5_000);
    const own = await sup.submit({ agent: 'attempts', input: { failures: 3 }, retry: { attempts: 4, backoff: { initialMs: 50 } } });
    for (const [i, ms] of [50, 100, 200].entries()) {
      const info = await delayedAfter(sup, own, i + 1);
      expect(info.retryAt! - info.history![i]!.endedAt).toBe(ms); // factor 2 and jitter 0 still come from the agent
      clock.advance(ms);
    }
    await expect(sup.result(own)).resolves.toMatchObject({ attempt: 4 });
    clock.advance(5_000);
    expect((await failure(sup, plain)).cause).toMatchObject({ message: 'attempt 2 failed' }); // the agent's 2 attempts
  });

  it('uses the delay a custom backoff function returns, given the failures so far and the error', async () => {
    const clock = manualClock();
    const calls: [number, string | undefined, string][] = [];
    const backoff = (failures: number, error: { code?: string; message: string }) => (calls.push([failures, error.code, error.message]), failures * 700);
    const sup = await start({ ...base, clock, agents: { attempts: mod('attempts', { retry: { attempts: 3, backoff } }) } });
    const id = await sup.submit({ agent: 'attempts', input: { failures: 2 } });
    for (const [i, ms] of [700, 1_400].entries()) {
      const info = await delayedAfter(sup, id, i + 1);
      expect(info.retryAt! - info.history![i]!.endedAt).toBe(ms);
      clock.advance(ms);
    }
    await expect(sup.result(id)).resolves.toMatchObject({ attempt: 3 });
    expect(calls).toEqual([[1, 'E_ATTEMPT', 'attempt 1 failed'], [2, 'E_ATTEMPT', 'attempt 2 failed']]);
  });

  it('does not retry with attempts: 1', async () => {
    const sup = await start({ ...base, agents: { attempts: mod('attempts', { retry: { attempts: 1 } }) } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'attempts', input: { failures: 1 } });
    expect((await failure(sup, id)).cause).toMatchObject({ message: 'attempt 1 failed' });
    expect(of(events, 'started', id)).toHaveLength(1);
    expect(of(events, 'failed', id)).toEqual([expect.objectContaining({ attempt: 1, dead: true })]);
    expect(of(events, 'failed', id)[0]!.retryAt).toBeUndefined();
    expect(of(events, 'dead', id)).toHaveLength(1);
    expect(sup.get(id)).toMatchObject({ state: 'dead', attempt: 1, failures: 1, starts: 1 });
  });

  it('makes a task dead at once on an UnrecoverableError', async () => {
    const sup = await start({ ...base, agents: { unrecoverable: mod('unrecoverable') } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'unrecoverable', input: { url: '' } });
    const err = await failure(sup, id);
    expect(err.cause).toMatchObject({ name: 'UnrecoverableError', message: 'bad input: {"url":""}' });
    expect(err.details.history).toHaveLength(1);
    expect(of(events, 'started', id)).toHaveLength(1);
    expect(of(events, 'failed', id)).toEqual([expect.objectContaining({ dead: true })]);
    expect(sup.get(id)).toMatchObject({ state: 'dead', attempt: 1 });
  });

  it('cancels a task that waits out its backoff; its retry never runs', async () => {
    const clock = manualClock();
    const sup = await start({ ...base, clock, agents: { attempts: mod('attempts'), echo: mod('echo') } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'attempts', input: { failures: 1 }, retry: { backoff: { initialMs: 10_000 } } });
    await delayedAfter(sup, id, 1);
    await expect(sup.cancel(id, 'no longer needed')).resolves.toBe(true);
    expect(sup.get(id)).toMatchObject({ state: 'cancelled', cancelReason: 'no longer needed' });
    expect(sup.get(id)?.retryAt).toBeUndefined();
    await expect(rejection(sup.result(id))).resolves.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
    clock.advance(20_000);
    await sup.result(await sup.submit({ agent: 'echo' })); // anything the retry timer set off would be through by now
    expect(of(events, 'started', id)).toHaveLength(1);
    expect(sup.get(id)?.state).toBe('cancelled');
  });
});

describe('retry: RetryAfterError and holds', () => {
  it('retries after exactly retryAfterMs without using an attempt, holding the agent until then', async () => {
    const clock = manualClock();
    const sup = await start({ ...base, clock, agents: { ratelimited: mod('ratelimited', { retry: { attempts: 1 } }), echo: mod('echo') } });
    const events = record(sup);
    const a = await sup.submit({ agent: 'ratelimited', input: { limited: 1, retryAfterMs: 10_000 } });
    const info = await delayedAfter(sup, a, 1);
    expect(info.retryAt! - info.history![0]!.endedAt).toBe(10_000);
    expect(info.failures ?? 0).toBe(0);
    expect(info.error).toMatchObject({ name: 'RetryAfterError', retryAfterMs: 10_000 });
    expect(of(events, 'failed', a)).toEqual([expect.objectContaining({ dead: false, retryAt: info.retryAt })]);
    const b = await sup.submit({ agent: 'ratelimited', input: { limited: 0 } });
    // Another agent runs meanwhile; the held one's task stays queued.
    await sup.result(await sup.submit({ agent: 'echo' }));
    expect(sup.get(b)?.state).toBe('queued');
    expect(of(events, 'started', b)).toHaveLength(0);
    clock.advance(10_000);
    await expect(sup.result(b)).resolves.toEqual({ attempt: 1 });
    await expect(sup.result(a)).resolves.toEqual({ attempt: 2 }); // attempts: 1 and still retried
    expect(sup.get(a)!.failures ?? 0).toBe(0);
  });

  it("holds every key that gated the limited task: its agent's tasks and its resource's, other tasks run", async () => {
    const clock = manualClock();
    const sup = await start({ ...base, clock, resources: { api: { concurrency: 4 } }, agents: { ratelimited: mod('ratelimited'), echo: mod('echo') } });
    const events = record(sup);
    const a = await sup.submit({ agent: 'ratelimited', resources: ['api'], input: { limited: 1, retryAfterMs: 8_000 } });
    expect((await delayedAfter(sup, a, 1)).retryAt! - sup.get(a)!.history![0]!.endedAt).toBe(8_000);
    const held = await sup.submitBatch([{ agent: 'ratelimited', resources: ['api'] }, { agent: 'ratelimited' }, { agent: 'echo', resources: ['api'] }].map((t) => ({ ...t, input: { limited: 0 } })));
    await sup.result(await sup.submit({ agent: 'echo' })); // neither its agent nor its resource: it runs
    for (const id of held) expect([sup.get(id)?.state, of(events, 'started', id)]).toEqual(['queued', []]);
    clock.advance(8_000);
    for (const id of held) await expect(sup.result(id)).resolves.toMatchObject({ attempt: 1 });
    await expect(sup.result(a)).resolves.toEqual({ attempt: 2 });
  });

  it('reads ::retry-after and ::unrecoverable from a command agent, with the pid in its history', async () => {
    const clock = manualClock();
    const sup = await start({ ...base, clock, agents: { limited } });
    const id = await sup.submit({ agent: 'limited', input: { limited: 1, retryAfterMs: 5_000 } });
    const info = await delayedAfter(sup, id, 1);
    expect(info.retryAt! - info.history![0]!.endedAt).toBe(5_000);
    expect(info.failures ?? 0).toBe(0);
    expect(info.error).toMatchObject({ name: 'RetryAfterError', code: 'TROUPE_COMMAND_FAILED', exitCode: 1, retryAfterMs: 5_000 });
    expect(info.history![0]).toMatchObject({ attempt: 1, pid: expect.any(Number) });
    expect(info.history![0]!.threadId).toBeUndefined();
    clock.advance(5_000);
    await expect(sup.result(id)).resolves.toEqual({ attempt: 2 });

    const bad = await sup.submit({ agent: 'limited', input: { unrecoverable: true } });
    const err = await failure(sup, bad);
    expect(err.cause).toMatchObject({ name: 'UnrecoverableError', exitCode: 2 });
    expect(sup.get(bad)).toMatchObject({ state: 'dead', attempt: 1, history: [expect.objectContaining({ pid: expect.any(Number) })] });
  });
});

describe('retry: start cap', () => {
  it('makes a task dead with TROUPE_MAX_STARTS once its runs were cut short maxStarts times', async () => {
    const g = gate();
    const sup = await start({ ...base, agents: { gate: mod('gate') } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'gate', input: { gate: g.path }, retry: { attempts: 2, maxStarts: 2 } });
    for (const n of [1, 2]) {
      await waitFor(() => of(events, 'started', id).length === n && of(events, 'progress', id).length === n, `run ${n} on its thread`);
      await sup.injectFault('agent');
      await waitFor(() => of(events, 'requeued', id).length === n, `requeue ${n}`);
    }
    const err = await failure(sup, id);
    expect(err.cause).toMatchObject({ code: 'TROUPE_MAX_STARTS' });
    expect(of(events, 'started', id).map((e) => e.attempt)).toEqual([1, 2]);
    expect(of(events, 'dead', id)).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: 'TROUPE_MAX_STARTS' }) })]);
    expect(sup.get(id)).toMatchObject({ state: 'dead', attempt: 2, starts: 2 });
    expect(sup.get(id)!.history!.map((h) => [h.attempt, h.interrupted])).toEqual([[1, 'agent restarted'], [2, 'agent restarted']]);
  });

  it("rejects a task's start cap below the attempts in force, its agent's included", async () => {
    const sup = await start({ ...base, agents: { five: mod('attempts', { retry: { attempts: 5 } }) } });
    const err = await rejection(sup.submit({ agent: 'five', retry: { maxStarts: 4 } }));
    expect(err).toMatchObject({ code: 'TROUPE_INVALID_TASK', details: { field: 'task.retry.maxStarts', value: 4 } });
    expect((err as Error).message).toContain('attempts in force (5)');
    await expect(sup.submit({ agent: 'five', retry: { maxStarts: 5 } })).resolves.toEqual(expect.any(String));
  });
});

describe('dead letters and redrive', () => {
  it('lists dead tasks newest first, by agent and up to a limit, and rejects a bad query', async () => {
    const clock = manualClock();
    const sup = await start({ ...base, clock, agents: { unrecoverable: mod('unrecoverable'), attempts: mod('attempts', { retry: { attempts: 1 } }), echo: mod('echo') } });
    const die = async (agent: string, input: unknown): Promise<string> => {
      const id = await sup.submit({ agent, input });
      await dead(sup, id);
      clock.advance(10); // distinct death times
      return id;
    };
    const u1 = await die('unrecoverable', 1);
    const a1 = await die('attempts', { failures: 1 });
    const u2 = await die('unrecoverable', 2);
    await sup.result(await sup.submit({ agent: 'echo' }));
    const ids = async (q?: Parameters<Supervisor['deadLetters']>[0]) => (await sup.deadLetters(q)).map((t) => t.id);
    expect(await ids()).toEqual([u2, a1, u1]);
    expect(await ids({ agent: 'unrecoverable' })).toEqual([u2, u1]);
    expect(await ids({ limit: 2 })).toEqual([u2, a1]);
    expect(await ids({ agent: 'attempts', limit: 5 })).toEqual([a1]);
    expect(await ids({ agent: 'echo' })).toEqual([]);
    const [letter] = await sup.deadLetters({ agent: 'attempts' });
    expect(letter).toMatchObject({ state: 'dead', agent: 'attempts', error: { code: 'E_ATTEMPT' }, history: [expect.objectContaining({ attempt: 1, threadId: expect.any(Number) })] });
    for (const limit of [0, -1, 1.5, '2', Number.NaN]) {
      const err = await rejection(sup.deadLetters({ limit } as never));
      expect(err).toMatchObject({ code: 'TROUPE_INVALID_OPTIONS' });
      expect((err as Error).message).toContain('query.limit');
    }
  });

  it('redrives one task, several, and one with new input; attempts go on with a fresh budget', async () => {
    const sup = await start({ ...base, agents: { attempts: mod('attempts') } });
    const events = record(sup);
    const a = await sup.submit({ agent: 'attempts', input: { failures: 5 }, retry: { backoff: { initialMs: 0 } } });
    await failure(sup, a);
    expect(await sup.redrive(a)).toEqual([a]);
    // Attempts 4 and 5 fail, 6 succeeds: the 3 attempts are counted afresh.
    await expect(sup.result(a)).resolves.toMatchObject({ attempt: 6 });
    expect(sup.get(a)).toMatchObject({ state: 'succeeded', attempt: 6, failures: 2, starts: 3 });
    expect(sup.get(a)!.history!.map((h) => h.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(of(events, 'redriven', a)).toEqual([expect.objectContaining({ agent: 'attempts' })]);
    expect(await sup.deadLetters()).toEqual([]);

    const once = { retry: { attempts: 1 } };
    const [b, c, d] = await Promise.all([1, 1, 9].map((failures) => sup.submit({ agent: 'attempts', input: { failures, value: 'old' }, ...once })));
    await Promise.all([b, c, d].map((id) => failure(sup, id!)));
    expect(await sup.redrive([b!, c!])).toEqual([b, c]);
    await expect(Promise.all([sup.result(b!), sup.result(c!)])).resolves.toMatchObject([{ attempt: 2, input: 'old' }, { attempt: 2, input: 'old' }]);
    expect(await sup.redrive(d!, { input: { value: 'new' } })).toEqual([d]);
    await expect(sup.result(d!)).resolves.toMatchObject({ attempt: 2, input: 'new' });
  });

  it('redrives nothing when an id is unknown or not dead, or the new input cannot reach the agent', async () => {
    const sup = await start({ ...base, agents: { attempts: mod('attempts', { retry: { attempts: 1 } }) } });
    const events = record(sup);
    const gone = await sup.submit({ agent: 'attempts', input: { failures: 1 } });
    const ok = await sup.submit({ agent: 'attempts' });
    await failure(sup, gone);
    await sup.result(ok);
    const cases: [Promise<unknown>, string][] = [
      [sup.redrive('no-such-task'), 'TROUPE_UNKNOWN_TASK'],
      [sup.redrive(ok), 'TROUPE_TASK_NOT_DEAD'],
      [sup.redrive([gone, 'no-such-task']), 'TROUPE_UNKNOWN_TASK'],
      [sup.redrive([gone, ok]), 'TROUPE_TASK_NOT_DEAD'],
      [sup.redrive(gone, { input: { callback: () => 1 } }), 'TROUPE_UNCLONEABLE_INPUT'],
      [sup.redrive([gone], { input: Symbol('not cloneable') }), 'TROUPE_UNCLONEABLE_INPUT'],
    ];
    for (const [p, code] of cases) await expect(rejection(p)).resolves.toMatchObject({ code });
    await sup.result(await sup.submit({ agent: 'attempts' })); // a redrive that slipped through would show by now
    expect(sup.get(gone)).toMatchObject({ state: 'dead', attempt: 1 });
    expect(events.filter((e) => e.type === 'redriven')).toEqual([]);
    expect(of(events, 'started', gone)).toHaveLength(1);
    expect((await sup.deadLetters()).map((t) => t.id)).toEqual([gone]);
  });

  it('rejects redrive options that are not an object or have a misspelled key, redriving nothing', async () => {
    const sup = await start({ ...base, agents: { bad: mod('unrecoverable') } });
    const id = await sup.submit({ agent: 'bad', input: 1 });
    await dead(sup, id);
    for (const options of [null, 5, { inptu: 2 }]) {
      await expect(sup.redrive(id, options as never)).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS' });
    }
    expect(sup.get(id)?.state).toBe('dead');
  });

  it('rejects ids that are neither a task id nor a list of them with TROUPE_INVALID_TASK', async () => {
    const sup = await start({ ...base, agents: { attempts: mod('attempts') } });
    for (const ids of [42, { id: 'x' }, null]) {
      await expect(rejection(sup.redrive(ids as never))).resolves.toMatchObject({ code: 'TROUPE_INVALID_TASK' });
    }
  });

  it('redrives a task listed twice once and resolves (no rejection for a redrive that happened)', async () => {
    const sup = await start({ ...base, agents: { attempts: mod('attempts', { retry: { attempts: 1 } }) } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'attempts', input: { failures: 1 } });
    await failure(sup, id);
    // Today the second copy is refused after the first was redriven: redrive() rejects, yet the task runs.
    const outcome = await sup.redrive([id, id]).catch((e: unknown) => e);
    await expect(sup.result(id)).resolves.toMatchObject({ attempt: 2 });
    expect(of(events, 'redriven', id)).toHaveLength(1);
    expect(outcome).toEqual([id]);
  });

  it('rejects a dead-letter query that is not an object, or has a wrong type or a misspelled key, with a TroupeError', async () => {
    const sup = await start({ ...base, agents: { attempts: mod('attempts') } });
    for (const query of [null, 'attempts', { agent: 42 }, { agnet: 'attempts' }]) {
      await expect(rejection(sup.deadLetters(query as never))).resolves.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS' });
    }
  });
});

describe('retry: journal', () => {
  it('keeps a delayed task across a restart; it runs when its retry time comes, as the next attempt', async () => {
    const journal = join(tempDir(), 'j.db');
    const agents = { attempts: mod('attempts', { retry: { attempts: 3, backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 } } }) };
    const first = await start({ ...base, journal, clock: manualClock(), agents });
    const id = await first.submit({ agent: 'attempts', input: { failures: 1, value: 'kept' } });
    const before = await delayedAfter(first, id, 1);
    expect(await first.shutdown()).toMatchObject({ kept: 1 });

    const clock = manualClock();
    const sup = await start({ ...base, journal, clock, agents });
    const events = record(sup);
    expect(sup.snapshot().recovery).toMatchObject({ queued: 1 });
    const after = sup.get(id)!;
    expect(after).toMatchObject({ state: 'delayed', attempt: 1, failures: 1, starts: 1, retryAt: before.retryAt });
    expect(after.history).toEqual(before.history);
    expect(after.retryAt! - after.history![0]!.endedAt).toBe(60_000);
    clock.advance(60_000);
    await expect(sup.result(id)).resolves.toMatchObject({ attempt: 2, input: 'kept' });
    expect(of(events, 'started', id).map((e) => e.attempt)).toEqual([2]);
  });

  it('keeps dead letters and their history across a restart, and redrives them after it', async () => {
    const journal = join(tempDir(), 'j.db');
    const agents = { attempts: mod('attempts', { retry: { attempts: 2, backoff: { initialMs: 0 } } }), unrecoverable: mod('unrecoverable') };
    const first = await start({ ...base, journal, agents });
    const d1 = await first.submit({ agent: 'attempts', input: { failures: 9 } });
    await failure(first, d1);
    const d2 = await first.submit({ agent: 'unrecoverable', input: 'x' });
    await failure(first, d2);
    const letters = await first.deadLetters();
    await first.shutdown();

    const sup = await start({ ...base, journal, agents });
    expect(await sup.deadLetters()).toEqual(letters);
    expect(letters.map((t) => t.id)).toEqual([d2, d1]);
    expect(letters[1]!.history!.map((h) => [h.attempt, h.error?.code, typeof h.threadId])).toEqual([[1, 'E_ATTEMPT', 'number'], [2, 'E_ATTEMPT', 'number']]);
    const err = await failure(sup, d1);
    expect(err.cause).toMatchObject({ code: 'E_ATTEMPT', message: 'attempt 2 failed' });
    expect(err.details.history).toHaveLength(2);
    expect(await sup.redrive(d1, { input: { failures: 0, value: 'after restart' } })).toEqual([d1]);
    await expect(sup.result(d1)).resolves.toMatchObject({ attempt: 3, input: 'after restart' });
    expect(sup.get(d1)!.history).toHaveLength(2);
    expect((await sup.deadLetters()).map((t) => t.id)).toEqual([d2]);
  });

  it('shows a recovered dead letter exactly as it was before the restart', async () => {
    const journal = join(tempDir(), 'j.db');
    const agents = { attempts: mod('attempts', { retry: { attempts: 1 } }) };
    const first = await start({ ...base, journal, agents });
    const id = await first.submit({ agent: 'attempts', input: { failures: 1 } });
    await failure(first, id);
    const before = first.get(id);
    await first.shutdown();
    const sup = await start({ ...base, journal, agents });
    expect(sup.get(id)).toEqual(before);
  });
});

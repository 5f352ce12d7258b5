import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Supervisor, SupervisorOptions, TroupeEvent } from '../../dist/index.js';
import { agentPath, concurrencyCounter, manualClock, record, start, tempDir, waitFor } from '../helpers.js';

// Every failure is final (attempts: 1), so a failing task is one breaker outcome and no retry timer
// runs on the manual clock. `echo` is the other agent; its tasks double as a barrier.
const probe = { module: agentPath('breaker-probe'), retry: { attempts: 1 } };
const echo = { module: agentPath('echo') };
const unrec = { module: agentPath('unrecoverable'), retry: { attempts: 1 } };
const P = 'agent:probe';

async function launch(options: Partial<SupervisorOptions>) {
  const clock = manualClock();
  const sup = await start({ clock, agents: { probe, echo }, ...options } as SupervisorOptions);
  return { sup, clock, events: record(sup) };
}

/** Runs one task to its end: 'ok' or the error code result() rejects with. */
const run = async (sup: Supervisor, input: unknown = {}, resources: string[] = [], agent = 'probe'): Promise<string> =>
  sup.result(await sup.submit({ agent, input, resources })).then(() => 'ok', (err: { code: string }) => err.code);

async function failTimes(sup: Supervisor, n: number, input: Record<string, unknown> = {}, resources: string[] = [], agent = 'probe'): Promise<void> {
  for (let i = 0; i < n; i += 1) expect(await run(sup, { fail: true, ...input }, resources, agent)).toBe('TROUPE_TASK_FAILED');
}

/** Everything published before it (breaker changes, dispatches) has been delivered once an echo task ran. */
const barrier = async (sup: Supervisor): Promise<unknown> => sup.result(await sup.submit({ agent: 'echo', input: 'barrier' }));

const transitions = (events: TroupeEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'breaker' ? [`${e.key} ${e.state}${e.forced ? ' forced' : ''}`] : []));
const startedIds = (events: TroupeEvent[]): Set<string> => new Set(events.flatMap((e) => (e.type === 'started' ? [e.taskId] : [])));
const stateOf = (sup: Supervisor, key = P): string => sup.breakers()[key]!.state;

/** events$, snapshot().breakers and breakers() tell the same story for every key. */
function expectAgreement(sup: Supervisor, events: TroupeEvent[]): void {
  const last = new Map<string, { state: string; forced: boolean }>();
  for (const e of events) if (e.type === 'breaker') last.set(e.key, { state: e.state, forced: e.forced });
  const byKey = sup.breakers();
  expect(sup.snapshot().breakers).toEqual(Object.fromEntries([...last].map(([k, v]) => [k, v.state])));
  for (const [key, info] of Object.entries(byKey)) expect({ state: info.state, forced: info.forced }).toEqual(last.get(key) ?? { state: 'closed', forced: false });
}

/** The tasks are held back: still queued, never started, no attempt used. */
async function expectHeld(sup: Supervisor, events: TroupeEvent[], ids: string[]): Promise<void> {
  await barrier(sup);
  const started = startedIds(events);
  for (const id of ids) {
    expect(sup.get(id)).toMatchObject({ state: 'queued', attempt: 0 });
    expect(started.has(id)).toBe(false);
  }
}

describe('circuit breaker', () => {
  it('opens after failureThreshold consecutive failures; a success resets the count', async () => {
    const { sup, events } = await launch({ breaker: { failureThreshold: 3, resetTimeoutMs: 10_000 } });
    await failTimes(sup, 2);
    expect(await run(sup)).toBe('ok');
    await failTimes(sup, 2);
    await barrier(sup);
    expect(stateOf(sup)).toBe('closed');
    expect(transitions(events)).toEqual([]);
    await failTimes(sup, 1);
    await waitFor(() => stateOf(sup) === 'open', 'open after 3 consecutive failures');
    const info = sup.breakers()[P]!;
    expect(info).toMatchObject({ state: 'open', forced: false, resetTimeoutMs: 10_000, halfOpenAt: info.openedAt! + 10_000 });
    expect(transitions(events)).toEqual([`${P} open`]);
    expectAgreement(sup, events);
  });

  it('opens on the failure rate only when it is strictly above failureRate over minimumCalls', async () => {
    const breaker = { failureThreshold: 100, failureRate: 0.5, minimumCalls: 4, windowMs: 3_600_000 };
    const a = await launch({ breaker });
    for (let i = 0; i < 4; i += 1) {
      expect(await run(a.sup)).toBe('ok');
      await failTimes(a.sup, 1);
    }
    await barrier(a.sup); // 4 of 8 failed, and never more than half at any point: still closed
    expect(stateOf(a.sup)).toBe('closed');
    expect(transitions(a.events)).toEqual([]);

    const b = await launch({ breaker });
    await failTimes(b.sup, 1);
    expect(await run(b.sup)).toBe('ok');
    await failTimes(b.sup, 1);
    await barrier(b.sup); // 2 of 3: above the rate, below minimumCalls
    expect(stateOf(b.sup)).toBe('closed');
    await failTimes(b.sup, 1); // 3 of 4 (never more than 2 in a row)
    await waitFor(() => stateOf(b.sup) === 'open', 'open at 3 failures of 4 calls');
    expect(transitions(b.events)).toEqual([`${P} open`]);
  });

  it('an open breaker holds its key’s tasks queued, unattempted, while other agents’ tasks run', async () => {
    const { sup, clock, events } = await launch({ breaker: { failureThreshold: 2, resetTimeoutMs: 10_000 } });
    await failTimes(sup, 2);
    await waitFor(() => stateOf(sup) === 'open', 'open');
    const held = await Promise.all([0, 1, 2, 3, 4].map((i) => sup.submit({ agent: 'probe', input: { label: i } })));
    const others = await Promise.all([0, 1, 2, 3, 4].map((i) => sup.submit({ agent: 'echo', input: i })));
    for (const id of others) await expect(sup.result(id)).resolves.toMatchObject({ attempt: 1 });
    await expectHeld(sup, events, held);
    expect(sup.snapshot().queue.depth).toBe(5);

    clock.advance(5_000); // half the reset timeout (the manual clock also moves with real time: keep a margin)
    await expectHeld(sup, events, held);
    clock.advance(5_000);
    for (const id of held) await expect(sup.result(id)).resolves.toMatchObject({ attempt: 1 });
    expect(transitions(events)).toEqual([`${P} open`, `${P} half-open`, `${P} closed`]);
    expect(sup.breakers()[P]).toEqual({ state: 'closed', forced: false, openedAt: null, resetTimeoutMs: 10_000, halfOpenAt: null });
    expectAgreement(sup, events);
  });

  it('goes half-open even when its timer fires before the reset timeout is over (Node timers can fire early)', async () => {
    const clock = manualClock({ earlyMs: 1_000 });
    const sup = await start({ clock, agents: { probe, echo }, breaker: { failureThreshold: 1, resetTimeoutMs: 10_000 } });
    await failTimes(sup, 1);
    await waitFor(() => stateOf(sup) === 'open', 'open');
    const held = await sup.submit({ agent: 'probe', input: {} });
    clock.advance(9_500); // the timer fires early: the breaker is not due yet and must set its timer again
    await barrier(sup);
    expect(stateOf(sup)).toBe('open');
    clock.advance(1_000);
    await expect(sup.result(held)).resolves.toMatchObject({ attempt: 1 });
    expect(stateOf(sup)).toBe('closed');
  });

  it('half-open lets exactly halfOpenTrials tasks run at once and closes after that many successes', async () => {
    const dir = tempDir();
    const counter = concurrencyCounter();
    const { sup, clock, events } = await launch({
      pool: { minThreads: 4, maxThreads: 4 }, // room for more than two at once: only the breaker holds them
      breaker: { failureThreshold: 2, resetTimeoutMs: 5_000, halfOpenTrials: 2 },
    });
    await failTimes(sup, 2);
    await waitFor(() => stateOf(sup) === 'open', 'open');
    const gates = ['a', 'b', 'c', 'd', 'e'].map((l) => join(dir, l));
    const ids: string[] = [];
    for (const [i, g] of gates.entries()) ids.push(await sup.submit({ agent: 'probe', input: { label: i, gate: g, counter: counter.buffer } }));
    await expectHeld(sup, events, ids);

    clock.advance(5_000);
    await waitFor(() => counter.current() === 2, 'two trials running');
    await expectHeld(sup, events, ids.slice(2)); // the pool has room, the breaker admits two
    expect(stateOf(sup)).toBe('half-open');

    writeFileSync(gates[0]!, ''); // one success of two: still half-open
    await sup.result(ids[0]!);
    await expectHeld(sup, events, ids.slice(3));
    expect(stateOf(sup)).toBe('half-open');
    expect(counter.max()).toBe(2);

    writeFileSync(gates[1]!, ''); // the second success closes it
    await waitFor(() => stateOf(sup) === 'closed', 'closed after two successes');
    const closedAt = events.findIndex((e) => e.type === 'breaker' && e.state === 'closed');
    const succeededBefore = events.slice(0, closedAt).flatMap((e) => (e.type === 'succeeded' && ids.includes(e.taskId) ? [e.taskId] : []));
    expect(succeededBefore).toEqual([ids[0], ids[1]]);
    await waitFor(() => counter.current() === 3, 'the rest run freely once closed');
    for (const g of gates) writeFileSync(g, '');
    for (const id of ids) await expect(sup.result(id)).resolves.toMatchObject({ attempt: 1 });
    expect(transitions(events)).toEqual([`${P} open`, `${P} half-open`, `${P} closed`]);
  });

  it('a failed trial reopens it with the reset timeout multiplied, up to maxResetTimeoutMs', async () => {
    const { sup, clock, events } = await launch({
      breaker: { failureThreshold: 2, resetTimeoutMs: 10_000, resetBackoffFactor: 2, maxResetTimeoutMs: 35_000 },
    });
    await failTimes(sup, 2);
    await waitFor(() => stateOf(sup) === 'open', 'open');
    const trial1 = await sup.submit({ agent: 'probe', input: { fail: true } });
    const trial2 = await sup.submit({ agent: 'probe', input: { fail: true } });
    const good = await sup.submit({ agent: 'probe', input: { label: 'good' } });

    clock.advance(10_000);
    await expect(sup.result(trial1)).rejects.toMatchObject({ code: 'TROUPE_TASK_FAILED' });
    await waitFor(() => transitions(events).length === 3, 'reopened');
    expect(transitions(events)).toEqual([`${P} open`, `${P} half-open`, `${P} open`]);
    const reopened = sup.breakers()[P]!;
    expect(reopened).toMatchObject({ state: 'open', resetTimeoutMs: 20_000, halfOpenAt: reopened.openedAt! + 20_000 });
    await expectHeld(sup, events, [trial2, good]); // one failed trial, and nothing more ran

    clock.advance(10_000); // the old timeout: still open
    await expectHeld(sup, events, [trial2, good]);
    expect(stateOf(sup)).toBe('open');
    clock.advance(10_000); // the doubled one: a trial, which fails again
    await expect(sup.result(trial2)).rejects.toMatchObject({ code: 'TROUPE_TASK_FAILED' });
    await waitFor(() => transitions(events).length === 5, 'reopened again');
    expect(sup.breakers()[P]).toMatchObject({ state: 'open', resetTimeoutMs: 35_000 }); // 40 s, capped
    await expectHeld(sup, events, [good]);

    clock.advance(20_000);
    await expectHeld(sup, events, [good]);
    clock.advance(15_000);
    await expect(sup.result(good)).resolves.toMatchObject({ label: 'good' });
    await waitFor(() => stateOf(sup) === 'closed', 'closed');
    expect(sup.breakers()[P]).toMatchObject({ resetTimeoutMs: 10_000, openedAt: null });
    const cycle = [`${P} open`, `${P} half-open`];
    expect(transitions(events)).toEqual([...cycle, ...cycle, ...cycle, `${P} closed`]);
    expectAgreement(sup, events);
  });

  it('per-resource breakers: outcomes count against the task’s agent and every one of its resources, only tasks gated by an open one wait', async () => {
    const { sup, clock, events } = await launch({
      breaker: { failureThreshold: 3, resetTimeoutMs: 1_000 },
      resources: { db: { concurrency: 4 }, cache: { concurrency: 4 } },
    });
    await failTimes(sup, 3, {}, ['db']);
    await waitFor(() => stateOf(sup, 'resource:db') === 'open' && stateOf(sup, P) === 'open', 'db and probe open');
    expect(stateOf(sup, 'resource:cache')).toBe('closed');

    const held = [
      await sup.submit({ agent: 'probe', input: { label: 'db' }, resources: ['db'] }),
      await sup.submit({ agent: 'probe', input: { label: 'both' }, resources: ['cache', 'db'] }),
      await sup.submit({ agent: 'probe', input: { label: 'none' } }),
      await sup.submit({ agent: 'echo', input: 'db', resources: ['db'] }),
    ];
    expect(await run(sup, 'none', [], 'echo')).toBe('ok');
    expect(await run(sup, 'cache', ['cache'], 'echo')).toBe('ok');
    await expectHeld(sup, events, held);

    clock.advance(1_000);
    for (const id of held) await sup.result(id);
    await waitFor(() => stateOf(sup, 'resource:db') === 'closed' && stateOf(sup, P) === 'closed', 'db and probe closed');
    for (const key of ['resource:db', P]) {
      expect(transitions(events).filter((t) => t.startsWith(`${key} `))).toEqual([`${key} open`, `${key} half-open`, `${key} closed`]);
    }

    await failTimes(sup, 3, {}, ['cache', 'db']); // a task with two resources counts against both, and its agent
    await waitFor(() => ['resource:cache', 'resource:db', P].every((k) => stateOf(sup, k) === 'open'), 'all three open');
    expect(await run(sup, 'still free', [], 'echo')).toBe('ok');
    expectAgreement(sup, events);
  });

  it('UnrecoverableError and cancellations do not count', async () => {
    const { sup, events } = await launch({
      agents: { probe, echo, unrec },
      breaker: { failureThreshold: 2, minimumCalls: 2, resetTimeoutMs: 10_000 },
    });
    await failTimes(sup, 4, {}, [], 'unrec');
    const dir = tempDir();
    for (let i = 0; i < 3; i += 1) {
      const id = await sup.submit({ agent: 'probe', input: { gate: join(dir, 'never') } });
      await waitFor(() => startedIds(events).has(id), 'gated task running');
      await expect(sup.cancel(id)).resolves.toBe(true);
    }
    await barrier(sup);
    expect(stateOf(sup, 'agent:unrec')).toBe('closed');
    expect(stateOf(sup, P)).toBe('closed');
    await failTimes(sup, 1, {}, [], 'unrec'); // neither key holds its tasks back
    expect(await run(sup)).toBe('ok');
    expect(transitions(events)).toEqual([]);
    expect(sup.snapshot().counters).toMatchObject({ dead: 5, cancelled: 3 });
  });

  it('ignoreErrors can be changed: errors are matched by name or code, and the list replaces the default', async () => {
    const { sup, events } = await launch({
      agents: { probe, echo, unrec },
      breaker: { failureThreshold: 2, resetTimeoutMs: 10_000, ignoreErrors: ['Throttled', 'E_BUSY'] },
    });
    await failTimes(sup, 3, { name: 'Throttled' });
    await failTimes(sup, 3, { code: 'E_BUSY' });
    await barrier(sup);
    expect(stateOf(sup)).toBe('closed');
    await failTimes(sup, 2, {}, [], 'unrec'); // no longer ignored
    await waitFor(() => stateOf(sup, 'agent:unrec') === 'open', 'unrec open');
    await failTimes(sup, 2, { name: 'Other', code: 'E_OTHER' });
    await waitFor(() => stateOf(sup) === 'open', 'probe open');
    expect(transitions(events)).toEqual(['agent:unrec open', `${P} open`]);
  });

  it('setBreaker forces open (no half-open however long it waits) and forced closed lets its tasks run', async () => {
    const { sup, clock, events } = await launch({ breaker: { failureThreshold: 2, resetTimeoutMs: 1_000 } });
    const info = await sup.setBreaker('probe', 'open');
    expect(info).toMatchObject({ state: 'open', forced: true, halfOpenAt: null, resetTimeoutMs: 1_000, openedAt: expect.any(Number) });
    expect(events.filter((e) => e.type === 'breaker')).toMatchObject([{ key: P, state: 'open', forced: true }]);
    const held = await Promise.all([0, 1, 2].map((i) => sup.submit({ agent: 'probe', input: { label: i } })));
    clock.advance(1_000_000);
    await expectHeld(sup, events, held);
    expect(sup.breakers()[P]).toMatchObject({ state: 'open', forced: true });
    expectAgreement(sup, events);

    expect(await sup.setBreaker('agent:probe', 'closed')).toEqual({ state: 'closed', forced: false, openedAt: null, resetTimeoutMs: 1_000, halfOpenAt: null });
    for (const id of held) await expect(sup.result(id)).resolves.toMatchObject({ attempt: 1 });
    expect(transitions(events)).toEqual([`${P} open forced`, `${P} closed`]);

    await failTimes(sup, 2); // forced closed also ends an automatic opening at once, and resets its count
    await waitFor(() => stateOf(sup) === 'open', 'open');
    const waiting = await sup.submit({ agent: 'probe', input: {} });
    await expectHeld(sup, events, [waiting]);
    await sup.setBreaker('probe', 'closed');
    await sup.result(waiting);
    await failTimes(sup, 1);
    expect(await run(sup)).toBe('ok');
    expect(stateOf(sup)).toBe('closed');
    expectAgreement(sup, events);
  });

  it('setBreaker validates its key and state', async () => {
    const { sup, events } = await launch({ agents: { probe, echo, db: echo }, resources: { db: { concurrency: 1 } } });
    expect(Object.keys(sup.breakers()).sort()).toEqual(['agent:db', 'agent:echo', 'agent:probe', 'resource:db']);
    await expect(sup.setBreaker('nope', 'open')).rejects.toMatchObject({ code: 'TROUPE_UNKNOWN_BREAKER' });
    await expect(sup.setBreaker('agent:nope', 'open')).rejects.toMatchObject({ code: 'TROUPE_UNKNOWN_BREAKER' });
    await expect(sup.setBreaker('db', 'open')).rejects.toMatchObject({ code: 'TROUPE_UNKNOWN_BREAKER', message: expect.stringContaining('ambiguous') });
    await expect(sup.setBreaker('probe', 'half-open' as 'open')).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS' });
    await expect(sup.setBreaker('probe', undefined as unknown as 'open')).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS' });
    expect(transitions(events)).toEqual([]);
    await expect(sup.setBreaker('resource:db', 'open')).resolves.toMatchObject({ state: 'open', forced: true });
    const held = await sup.submit({ agent: 'db', input: 'x', resources: ['db'] });
    expect(await run(sup, 'free', [], 'db')).toBe('ok');
    await expectHeld(sup, events, [held]);
  });

  it('an open breaker survives restarts of the Queue and Breaker actors, and still goes half-open on time', async () => {
    const { sup, clock, events } = await launch({ breaker: { failureThreshold: 2, resetTimeoutMs: 10_000 } });
    await failTimes(sup, 2);
    await waitFor(() => stateOf(sup) === 'open', 'open');
    const held = await sup.submit({ agent: 'probe', input: { label: 'held' } });
    for (const actor of ['queue', 'breaker'] as const) {
      await sup.injectFault(actor);
      await waitFor(() => events.some((e) => e.type === 'actor-restarted' && e.actor === actor), `${actor} restarted`);
    }
    await expectHeld(sup, events, [held]);
    clock.advance(10_000);
    await expect(sup.result(held)).resolves.toMatchObject({ label: 'held', attempt: 1 });
    expect(transitions(events)).toEqual([`${P} open`, `${P} half-open`, `${P} closed`]);
  });

  it('journaled: an open breaker is still open after a restart, and goes half-open after its reset timeout there', async () => {
    const journal = join(tempDir(), 'j.db');
    const options = { journal, agents: { probe, echo, other: echo }, breaker: { failureThreshold: 2, resetTimeoutMs: 5_000 } };
    const first = await launch(options);
    await failTimes(first.sup, 2);
    await waitFor(() => stateOf(first.sup) === 'open', 'open');
    await first.sup.setBreaker('other', 'open');
    const before = first.sup.breakers();
    const held = await first.sup.submit({ agent: 'probe', input: { label: 'held' } });
    const heldOther = await first.sup.submit({ agent: 'other', input: 'held' });
    await expectHeld(first.sup, first.events, [held, heldOther]);
    await first.sup.shutdown();

    const { sup, clock, events } = await launch(options);
    expect(sup.breakers()).toEqual(before);
    expect(sup.breakers()[P]).toMatchObject({ state: 'open', forced: false, resetTimeoutMs: 5_000 });
    await expectHeld(sup, events, [held, heldOther]);
    clock.advance(5_000);
    await expect(sup.result(held)).resolves.toMatchObject({ label: 'held' });
    // With a journal, events come once durable: wait on them (breakers() may be a step ahead).
    await waitFor(() => transitions(events).length === 2, 'closed after the trial');
    expect(transitions(events)).toEqual([`${P} half-open`, `${P} closed`]);
    await expectHeld(sup, events, [heldOther]); // forced open survives the restart too
    expect(sup.breakers()['agent:other']).toMatchObject({ state: 'open', forced: true });
    expect(sup.snapshot().breakers).toEqual({ [P]: 'closed', 'agent:other': 'open' }); // as breakers() says
  });

  it('breaker: false turns breakers off', async () => {
    const { sup, events } = await launch({ breaker: false });
    await failTimes(sup, 12);
    expect(await run(sup)).toBe('ok');
    expect(sup.snapshot().breakers).toEqual({});
    expect(transitions(events)).toEqual([]);
    expect(sup.breakers()[P]).toMatchObject({ state: 'closed', forced: false });
    await expect(sup.setBreaker('probe', 'open')).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS' });
  });
});

import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Supervisor, SupervisorOptions, TroupeEvent } from '../../dist/index.js';
import { agentPath, concurrencyCounter, manualClock, record, start, tempDir, waitFor } from '../helpers.js';

// Issue 13: an agent whose tasks come with and without a resource. Its breaker must hear the
// outcome of every task it gates, or a half-open agent whose trials all hold a resource never
// closes. Every failure is final (attempts: 1): one failing task is one breaker outcome.
const probe = { module: agentPath('breaker-probe'), retry: { attempts: 1 }, concurrency: 4 };
const echo = { module: agentPath('echo') };
const P = 'agent:probe';
const CPU = 'resource:cpu';
const breaker = { failureThreshold: 3, resetTimeoutMs: 10_000 };

const stateOf = (sup: Supervisor, key: string): string => sup.breakers()[key]!.state;
const transitions = (events: TroupeEvent[], key: string): string[] =>
  events.flatMap((e) => (e.type === 'breaker' && e.key === key ? [e.state] : []));
const startedIds = (events: TroupeEvent[]): Set<string> => new Set(events.flatMap((e) => (e.type === 'started' ? [e.taskId] : [])));
/** Everything published before it has been delivered once an echo task ran. */
const barrier = async (sup: Supervisor): Promise<unknown> => sup.result(await sup.submit({ agent: 'echo', input: 'barrier' }));

async function failTimes(sup: Supervisor, n: number, resources: string[]): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    const id = await sup.submit({ agent: 'probe', input: { fail: true }, resources });
    await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_FAILED' });
  }
}

/** Eight gated probe tasks, with the cpu resource and without, alternately (the first with it). */
async function submitMixed(sup: Supervisor, counter: ReturnType<typeof concurrencyCounter>): Promise<{ ids: string[]; gates: string[] }> {
  const dir = tempDir();
  const gates = [...Array(8).keys()].map((i) => join(dir, `gate-${i}`));
  const ids: string[] = [];
  for (const [i, gate] of gates.entries()) {
    ids.push(await sup.submit({ agent: 'probe', input: { label: i, gate, counter: counter.buffer }, resources: i % 2 === 0 ? ['cpu'] : [] }));
  }
  return { ids, gates };
}

describe('breakers of an agent whose tasks come with and without resources', () => {
  const options = (extra: Partial<SupervisorOptions> = {}): SupervisorOptions => ({
    agents: { probe, echo },
    resources: { cpu: { concurrency: 4 } },
    pool: { minThreads: 5, maxThreads: 5 }, // one thread more than the agent may use: barriers run meanwhile
    breaker,
    ...extra,
  });

  it.each([
    { failing: 'with the resource', resources: ['cpu'], opens: [P, CPU] },
    { failing: 'without resources', resources: [], opens: [P] },
  ])('failures of tasks $failing open the agent; trials close it and every queued task then runs at full concurrency', async ({ resources, opens }) => {
    const clock = manualClock();
    const sup = await start({ ...options(), clock });
    const events = record(sup);
    await failTimes(sup, 3, resources);
    await waitFor(() => opens.every((k) => stateOf(sup, k) === 'open'), `${opens.join(', ')} open`);
    if (!opens.includes(CPU)) expect(stateOf(sup, CPU)).toBe('closed');

    const counter = concurrencyCounter();
    const { ids, gates } = await submitMixed(sup, counter);
    await barrier(sup);
    expect(ids.filter((id) => startedIds(events).has(id))).toEqual([]);
    expect(sup.get(ids[1]!)?.heldBy).toMatchObject({ breaker: P, state: 'open' });

    clock.advance(10_000);
    // Every task is gated by the half-open agent: one trial runs, with cpu or without.
    await waitFor(() => counter.current() === 1, 'a trial running');
    await barrier(sup);
    const running = (): string[] => ids.filter((id) => startedIds(events).has(id) && sup.get(id)?.state === 'running');
    const [trial, ...others] = running();
    expect(others).toEqual([]);
    expect(sup.get(ids.find((id, i) => i % 2 === 1 && id !== trial)!)?.heldBy).toEqual({ breaker: P, state: 'half-open', halfOpenAt: null });
    writeFileSync(gates[ids.indexOf(trial!)]!, '');
    await expect(sup.result(trial!)).resolves.toMatchObject({ attempt: 1 });
    await barrier(sup); // the Breaker's decision on the trial has arrived
    expect(stateOf(sup, P)).toBe('closed');
    // A trial without cpu left cpu half-open: its own trial (a task with cpu) runs among the others, alone of its key.
    while (stateOf(sup, CPU) !== 'closed') {
      const withCpu = (): string[] => running().filter((id) => ids.indexOf(id) % 2 === 0);
      await waitFor(() => withCpu().length > 0, 'a cpu trial running');
      await barrier(sup);
      expect(withCpu()).toHaveLength(1);
      writeFileSync(gates[ids.indexOf(withCpu()[0]!)]!, '');
      await sup.result(withCpu()[0]!);
      await barrier(sup);
    }
    await waitFor(() => counter.current() === 4, 'the agent runs at its full concurrency');
    for (const gate of gates) writeFileSync(gate, '');
    for (const [i, id] of ids.entries()) await expect(sup.result(id)).resolves.toMatchObject({ label: i, attempt: 1 });
    for (const key of opens) expect(transitions(events, key)).toEqual(['open', 'half-open', 'closed']);
    expect(sup.snapshot().breakers).toEqual(Object.fromEntries(opens.map((k) => [k, 'closed'])));
  });

  it('journaled: the recorded open breaker comes back after a restart and still closes once its trial succeeds', async () => {
    const journal = join(tempDir(), 'j.db');
    const first = await start({ ...options({ journal }), clock: manualClock() });
    const firstEvents = record(first);
    await failTimes(first, 3, []);
    // With a journal, the Queue obeys the opening once it is durable, as events$ shows it (breakers() may be a step ahead).
    await waitFor(() => transitions(firstEvents, P).includes('open'), 'open');
    const before = first.breakers();
    const held = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => first.submit({ agent: 'probe', input: { label: i }, resources: i % 2 === 0 ? ['cpu'] : [] })));
    await barrier(first);
    expect(held.filter((id) => startedIds(firstEvents).has(id))).toEqual([]);
    await barrier(first);
    expect(held.filter((id) => startedIds(firstEvents).has(id))).toEqual([]);
    await first.shutdown();

    const clock = manualClock();
    const sup = await start({ ...options({ journal }), clock });
    const events = record(sup);
    expect(sup.breakers()).toEqual(before);
    expect(sup.snapshot().breakers).toEqual({ [P]: 'open' });
    expect(sup.get(held[0]!)?.heldBy).toEqual({ breaker: P, state: 'open', halfOpenAt: before[P]!.halfOpenAt });
    await barrier(sup);
    expect(held.filter((id) => startedIds(events).has(id))).toEqual([]);

    clock.advance(10_000);
    for (const [i, id] of held.entries()) await expect(sup.result(id)).resolves.toMatchObject({ label: i, attempt: 1 });
    await waitFor(() => transitions(events, P).length === 2, 'half-open, then closed');
    expect(transitions(events, P)).toEqual(['half-open', 'closed']);
    // One trial (halfOpenTrials 1), with cpu: its success alone closes the agent's breaker.
    const closedAt = events.findIndex((e) => e.type === 'breaker' && e.key === P && e.state === 'closed');
    expect(events.slice(0, closedAt).filter((e) => e.type === 'succeeded' && held.includes(e.taskId)).map((e) => (e as { taskId: string }).taskId)).toEqual([held[0]]);
    expect(stateOf(sup, P)).toBe('closed');
    expect(sup.get(held[0]!)?.heldBy).toBeUndefined();
  });

  it('a trial that is cancelled does not count, yet frees its slot: the next trial runs and closes the breaker', async () => {
    const clock = manualClock();
    const sup = await start({ ...options(), clock });
    const events = record(sup);
    await failTimes(sup, 3, []);
    await waitFor(() => transitions(events, P).includes('open'), 'open');
    const first = await sup.submit({ agent: 'probe', input: { label: 'cancelled', gate: join(tempDir(), 'never') }, resources: ['cpu'] });
    const next = await sup.submit({ agent: 'probe', input: { label: 'next' } });
    clock.advance(10_000);
    await waitFor(() => startedIds(events).has(first), 'the first trial running');
    await expect(sup.cancel(first)).resolves.toBe(true);
    await expect(sup.result(next)).resolves.toMatchObject({ label: 'next' });
    await waitFor(() => stateOf(sup, P) === 'closed', 'closed');
    expect(transitions(events, P)).toEqual(['open', 'half-open', 'closed']);
  });

  it('a failed trial holding a resource reopens the agent and the resource before anything else runs', async () => {
    const clock = manualClock();
    const sup = await start({ ...options(), clock });
    const events = record(sup);
    await failTimes(sup, 3, ['cpu']);
    await waitFor(() => transitions(events, P).includes('open') && transitions(events, CPU).includes('open'), 'both open');
    const trial = await sup.submit({ agent: 'probe', input: { label: 'trial', fail: true }, resources: ['cpu'] });
    // Gated by both keys, or by cpu alone: while both are half-open, none of them can be a second trial.
    const rest = [
      await sup.submit({ agent: 'probe', input: { label: 'cpu' }, resources: ['cpu'] }),
      await sup.submit({ agent: 'echo', input: 'cpu', resources: ['cpu'] }),
    ];
    clock.advance(10_000);
    await expect(sup.result(trial)).rejects.toMatchObject({ code: 'TROUPE_TASK_FAILED' });
    await waitFor(() => transitions(events, P).length === 3 && transitions(events, CPU).length === 3, 'both reopened');
    await barrier(sup);
    expect(rest.filter((id) => startedIds(events).has(id))).toEqual([]);
    for (const key of [P, CPU]) expect(transitions(events, key)).toEqual(['open', 'half-open', 'open']);
    expect(sup.get(rest[0]!)?.heldBy).toMatchObject({ breaker: P, state: 'open' });
    expect(sup.get(rest[1]!)?.heldBy).toMatchObject({ breaker: CPU, state: 'open' });
  });

  it('get() says which breaker holds a queued task, and nothing once it runs', async () => {
    const clock = manualClock();
    const sup = await start({ ...options(), clock });
    await sup.setBreaker('cpu', 'open');
    const withCpu = await sup.submit({ agent: 'probe', input: { label: 'cpu' }, resources: ['cpu'] });
    const without = await sup.submit({ agent: 'probe', input: { label: 'free' } });
    await expect(sup.result(without)).resolves.toMatchObject({ label: 'free' });
    expect(sup.get(without)?.heldBy).toBeUndefined();
    expect(sup.get(withCpu)).toMatchObject({ state: 'queued', heldBy: { breaker: CPU, state: 'open', halfOpenAt: null } });
    await sup.setBreaker('cpu', 'closed');
    await expect(sup.result(withCpu)).resolves.toMatchObject({ label: 'cpu' });
    expect(sup.get(withCpu)?.heldBy).toBeUndefined();
  });
});

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { FIXTURES, agentPath, concurrencyCounter, gate, manualClock, record, start, tempDir, waitFor } from '../helpers.js';
import type { Supervisor, TroupeEvent } from '../../dist/index.js';

const startedIds = (events: TroupeEvent[]): string[] => events.flatMap((e) => (e.type === 'started' ? [e.taskId] : []));
const startedAt = (events: TroupeEvent[], id: string): number => events.flatMap((e) => (e.type === 'started' && e.taskId === id ? [e.at] : []))[0]!;

/** Submits a task of an unlimited agent and waits for it: every message before it has been handled. */
async function barrier(sup: Supervisor): Promise<void> {
  await sup.result(await sup.submit({ agent: 'witness', input: {} }));
}

describe('fairness groups', () => {
  it("starts a small group's tasks early although a large group's backlog was submitted first", async () => {
    const g = gate();
    const sup = await start({ pool: { minThreads: 2, maxThreads: 2 }, agents: { gate: { module: agentPath('gate') } } });
    const events = record(sup);
    const big = await sup.submitBatch(Array.from({ length: 200 }, (_, i) => ({ agent: 'gate', input: { gate: g.path, label: `big${i}` }, group: 'big' })));
    await waitFor(() => sup.snapshot().running === 2, 'two big tasks holding both threads');
    const small = await sup.submitBatch(Array.from({ length: 5 }, (_, i) => ({ agent: 'gate', input: { gate: g.path, label: `small${i}` }, group: 'small' })));
    expect(sup.get(small[0]!)).toMatchObject({ group: 'small', state: 'queued' });
    expect((await sup.list({ group: 'small' })).map((t) => t.id)).toEqual(small);
    g.open();
    await Promise.all([...big, ...small].map((id) => sup.result(id)));

    const order = startedIds(events);
    expect(order).toHaveLength(205);
    const places = small.map((id) => order.indexOf(id) + 1);
    // Groups alternate: big, big (running before), then small, big, small, big, ...: the fifth small at start 11.
    expect(Math.max(...places)).toBeLessThanOrEqual(15);
    expect(order.slice(0, 2).every((id) => big.includes(id))).toBe(true);
  });

  it('never runs more tasks of a group at once than its concurrency (groups.<name>, then groupConcurrency)', async () => {
    const g = gate();
    const t = concurrencyCounter();
    const v = concurrencyCounter();
    const witness = concurrencyCounter();
    const sup = await start({
      pool: { minThreads: 2, maxThreads: 10, autoscaleIntervalMs: 20 },
      agents: { gate: { module: agentPath('gate') } },
      groups: { t: { concurrency: 2 } },
      groupConcurrency: 1,
    });
    const ids: string[] = [];
    for (let i = 0; i < 8; i += 1) ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, counter: t.buffer }, group: 't' }));
    for (let i = 0; i < 4; i += 1) ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, counter: v.buffer }, group: 'v' }));
    // Tasks without a group are not limited by groupConcurrency.
    for (let i = 0; i < 3; i += 1) ids.push(await sup.submit({ agent: 'gate', input: { gate: g.path, counter: witness.buffer } }));

    await waitFor(() => witness.current() === 3 && t.current() === 2 && v.current() === 1, 'witnesses running beside 2 of t and 1 of v');
    expect(sup.snapshot().queue.depth).toBe(9);
    g.open();
    await Promise.all(ids.map((id) => sup.result(id)));
    expect(t.max()).toBe(2);
    expect(v.max()).toBe(1);
  });

  it('journals the group: a restart shows it and schedules by it', async () => {
    const journal = join(tempDir(), 'troupe.db');
    const agents = { gate: { module: agentPath('gate') } };
    const g = gate();
    const first = await start({ journal, agents, pool: { minThreads: 2, maxThreads: 2 } });
    const held = await first.submitBatch([0, 1].map(() => ({ agent: 'gate', input: { gate: g.path } })));
    await waitFor(() => first.snapshot().running === 2, 'both threads held');
    const big = await first.submitBatch(Array.from({ length: 20 }, () => ({ agent: 'gate', input: { gate: g.path }, group: 'big' })));
    const small = await first.submitBatch(Array.from({ length: 3 }, () => ({ agent: 'gate', input: { gate: g.path }, group: 'small' })));
    await first.shutdown({ timeoutMs: 0 });

    g.open();
    const sup = await start({ journal, agents, pool: { minThreads: 2, maxThreads: 2 } });
    const events = record(sup);
    expect(sup.get(small[0]!)?.group).toBe('small');
    expect((await sup.list({ group: 'big', limit: 1000 })).map((t) => t.id)).toEqual(big);
    await Promise.all([...held, ...big, ...small].map((id) => sup.result(id)));
    const order = startedIds(events);
    expect(Math.max(...small.map((id) => order.indexOf(id) + 1))).toBeLessThanOrEqual(10);
  });

  it('rejects a bad group naming the field, the rule and the value', async () => {
    const sup = await start({ agents: { echo: { module: agentPath('echo') } } });
    await expect(sup.submit({ agent: 'echo', group: '' })).rejects.toMatchObject({ code: 'TROUPE_INVALID_TASK', message: expect.stringContaining('task.group') });
    const long = 'x'.repeat(201);
    await expect(sup.submit({ agent: 'echo', group: long })).rejects.toMatchObject({ code: 'TROUPE_INVALID_TASK', message: expect.stringMatching(/task\.group.*200/) });
  });
});

describe('rate limits', () => {
  it('starts at most max tasks per window; the next start waits for the clock, then its timer starts it', async () => {
    const clock = manualClock();
    const sup = await start({
      clock,
      agents: { limited: { module: agentPath('echo'), rateLimit: { max: 3, perMs: 60_000 } }, witness: { module: agentPath('echo') } },
    });
    const events = record(sup);
    const ids: string[] = [];
    const before = clock.now();
    for (let i = 0; i < 5; i += 1) ids.push(await sup.submit({ agent: 'limited', input: { i } }));
    await Promise.all(ids.slice(0, 3).map((id) => sup.result(id)));
    await barrier(sup);
    expect(ids.slice(3).map((id) => sup.get(id)?.state)).toEqual(['queued', 'queued']);
    const limit = sup.snapshot().rateLimits['agent:limited']!;
    expect(limit).toMatchObject({ max: 3, perMs: 60_000, used: 3 });
    // The window counts from the first dispatch, between the submission and the started event.
    const firstStart = startedAt(events, ids[0]!);
    expect(limit.nextAt! - 60_000).toBeGreaterThanOrEqual(before);
    expect(limit.nextAt! - 60_000).toBeLessThanOrEqual(firstStart);

    clock.advance(30_000); // half the window: still held
    await barrier(sup);
    expect(ids.slice(3).map((id) => sup.get(id)?.state)).toEqual(['queued', 'queued']);

    // A restarted Queue rebuilds from the task table but keeps the starts it counted: no fresh burst.
    await sup.injectFault('queue');
    await waitFor(() => events.some((e) => e.type === 'actor-restarted' && e.actor === 'queue'), 'queue restarted');
    await barrier(sup);
    expect(ids.slice(3).map((id) => sup.get(id)?.state)).toEqual(['queued', 'queued']);

    clock.advance(30_000); // the window has passed: the Queue's timer starts both, with no other message
    await Promise.all(ids.slice(3).map((id) => sup.result(id)));
    const starts = ids.map((id) => startedAt(events, id));
    expect(starts[3]!).toBeGreaterThanOrEqual(limit.nextAt!);
  });

  it('rejects a bad rate limit naming the option, the rule and the value', async () => {
    const bad = start({ agents: { a: { module: agentPath('echo'), rateLimit: { max: 0, perMs: 1000 } } } });
    await expect(bad).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS', message: expect.stringContaining('options.agents.a.rateLimit.max') });
    const unknown = start({ agents: { a: { module: agentPath('echo') } }, resources: { r: { rateLimit: { max: 1, perMs: 1000, burst: 2 } } } } as never);
    await expect(unknown).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS', message: expect.stringContaining('burst') });
  });

  it('holds after a SIGKILL and restart: the starts of the last window are read back from the journal', async () => {
    const journal = join(tempDir(), 'troupe.db');
    const child = spawn(
      process.execPath,
      [join(FIXTURES, 'journal', 'rate-holder.mjs'), JSON.stringify({ journal, agentsDir: join(FIXTURES, 'agents'), rateLimit: { max: 3, perMs: 60_000 }, tasks: 5, succeeded: 3 })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor(() => out.includes('\n') || child.exitCode !== null, 'holder ready');
    const { ids } = JSON.parse(out.split('\n')[0]!) as { ids: string[] };
    child.kill('SIGKILL');
    await waitFor(() => child.signalCode !== null, 'holder dead');

    const clock = manualClock();
    const sup = await start({
      journal,
      clock,
      agents: { limited: { module: agentPath('echo'), rateLimit: { max: 3, perMs: 60_000 } }, witness: { module: agentPath('echo') } },
    });
    await barrier(sup);
    expect(ids.map((id) => sup.get(id)?.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'queued', 'queued']);
    expect(sup.snapshot().rateLimits['agent:limited']).toMatchObject({ used: 3 });

    clock.advance(60_000);
    await Promise.all(ids.slice(3).map((id) => sup.result(id)));
  });
});

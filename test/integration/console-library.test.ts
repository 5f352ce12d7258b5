import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Supervisor, type TroupeEvent, type WaitReason } from '../../dist/index.js';
import { agentPath, gate, record, start, tempDir, waitFor } from '../helpers.js';

// Issue 19, the library's part of the operations console: finding tasks (list filters, newest
// first, search, counts), a task's input on request, why a task waits, pausing an agent's intake
// (journaled), a success that no longer shows an old error, start-time events, executables checked.

const echo = { module: agentPath('echo') };
const held = { module: agentPath('gate'), concurrency: 1 };

describe('finding tasks', () => {
  it('lists newest first, by several states, since a time, by text in the input; pages with after; counts by state', async () => {
    const sup = await start({ journal: ':memory:', agents: { echo, fail: { module: agentPath('fail'), retry: { attempts: 1 } } } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await sup.submit({ agent: 'echo', input: { n: i, text: `needle-${i}` } }));
    await Promise.all(ids.map((id) => sup.result(id)));
    const marker = Date.now() + 1;
    await waitFor(() => Date.now() > marker, 'the clock to move');
    const dead = await sup.submit({ agent: 'fail', input: { fail: true, text: 'haystack with a Needle-X' } });
    await expect(sup.result(dead)).rejects.toMatchObject({ code: 'TROUPE_TASK_FAILED' });

    const newest = await sup.list({ newest: true, limit: 3 });
    expect(newest.map((t) => t.id)).toEqual([dead, ids[4], ids[3]]);
    const next = await sup.list({ newest: true, limit: 3, after: newest.at(-1)!.id });
    expect(next.map((t) => t.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect((await sup.list({ state: ['dead', 'cancelled'] })).map((t) => t.id)).toEqual([dead]);
    expect((await sup.list({ since: marker })).map((t) => t.id)).toEqual([dead]);
    expect((await sup.list({ until: marker })).map((t) => t.id)).toEqual(ids);
    // Search is case-insensitive over the input's JSON, the error's message, the id.
    expect((await sup.list({ search: 'NEEDLE-x' })).map((t) => t.id)).toEqual([dead]);
    expect((await sup.list({ search: 'FAILURE requested' })).map((t) => t.id)).toEqual([dead]);
    expect((await sup.list({ search: ids[2]!.slice(-12).toUpperCase() })).map((t) => t.id)).toEqual([ids[2]]);
    expect((await sup.list({ search: 'needle-3', include: ['input'] }))[0]!.input).toEqual({ n: 3, text: 'needle-3' });
    expect((await sup.list({ search: 'needle-3' }))[0]!.input).toBeUndefined();

    const counts = await sup.count({ search: 'needle' });
    expect(counts.total).toBe(6);
    expect(counts.byState).toMatchObject({ succeeded: 5, dead: 1, queued: 0, running: 0 });
    expect((await sup.count({ agent: 'fail' })).byState.dead).toBe(1);

    await expect(sup.list({ state: 'nope' as never })).rejects.toMatchObject({ code: 'TROUPE_INVALID_OPTIONS', details: { field: 'query.state' } });
    await expect(sup.list({ limit: 1001 })).rejects.toMatchObject({ details: { field: 'query.limit' } });
    await expect(sup.count({ since: 'yesterday' as never })).rejects.toMatchObject({ details: { field: 'filter.since' } });
  });

  it('gives a task its input only when asked, and redrives every dead letter matching a filter', async () => {
    const sup = await start({ journal: ':memory:', agents: { echo, attempts: { module: agentPath('attempts'), retry: { attempts: 1 } } } });
    const a = await sup.submit({ agent: 'attempts', input: { failures: 1, value: 'tenant-a' } });
    const b = await sup.submit({ agent: 'attempts', input: { failures: 1, value: 'tenant-b' } });
    await Promise.all([a, b].map((id) => sup.result(id).catch(() => undefined)));
    expect(sup.get(a)!.input).toBeUndefined();
    expect(sup.get(a, { include: ['input'] })!.input).toEqual({ failures: 1, value: 'tenant-a' });
    expect(() => sup.get(a, { include: ['everything'] as never })).toThrow(expect.objectContaining({ code: 'TROUPE_INVALID_OPTIONS' }));

    expect(await sup.redriveAll({ search: 'tenant-a' })).toEqual([a]);
    // Its second attempt succeeds: the error of the first stays in its history, not in `error`.
    expect(await sup.result(a)).toMatchObject({ attempt: 2 });
    const info = sup.get(a)!;
    expect(info.state).toBe('succeeded');
    expect(info.error).toBeUndefined();
    expect(info.history?.[0]?.error?.message).toBe('attempt 1 failed');
    expect(sup.get(b)!.state).toBe('dead');
    expect(await sup.redriveAll({ agent: 'echo' })).toEqual([]);
  });
});

describe('why a task waits', () => {
  it('names parents, a retry, a paused agent, an open breaker, an agent limit, a resource limit and capacity', async () => {
    const g = gate();
    const sup = await start({
      journal: ':memory:',
      agents: { held, echo, slow: { module: agentPath('attempts'), retry: { attempts: 3, backoff: { initialMs: 600_000 } } } },
      resources: { gpu: { concurrency: 1 } },
    });
    const waiting = (id: string): WaitReason | undefined => sup.get(id)?.waiting;
    const running = await sup.submit({ agent: 'held', input: { gate: g.path } });
    await waitFor(() => sup.get(running)?.state === 'running', 'the held task to run');
    const behind = await sup.submit({ agent: 'held', input: { gate: g.path } });
    expect(waiting(behind)).toEqual({ for: 'agent-limit', agent: 'held', limit: 1, inUse: 1 });
    expect(sup.get(running)!.waiting).toBeUndefined();
    const child = await sup.submit({ agent: 'echo', input: 1, dependsOn: [running] });
    expect(waiting(child)).toEqual({ for: 'parents', parents: [running] });

    const retrying = await sup.submit({ agent: 'slow', input: { failures: 1 } });
    await waitFor(() => sup.get(retrying)?.state === 'delayed', 'the failed task to wait for its retry');
    expect(waiting(retrying)).toEqual({ for: 'retry', at: sup.get(retrying)!.retryAt });

    await sup.pause('echo');
    const paused = await sup.submit({ agent: 'echo', input: 2 });
    expect(waiting(paused)).toMatchObject({ for: 'paused', agent: 'echo' });
    expect(sup.agents().echo).toMatchObject({ paused: true, queued: 1, running: 0 });
    await sup.setBreaker('agent:echo', 'open');
    expect(waiting(paused)).toMatchObject({ for: 'paused' }); // the pause is named first: it is the operator's own
    await sup.resume('echo');
    expect(waiting(paused)).toMatchObject({ for: 'breaker', breaker: 'agent:echo', state: 'open' });
    expect(sup.get(paused)!.heldBy).toMatchObject({ breaker: 'agent:echo' });
    await sup.setBreaker('agent:echo', 'closed');
    expect(await sup.result(paused)).toMatchObject({ input: 2 });

    g.open();
    expect(await sup.result(behind)).toBeDefined();
    await sup.result(child);
    expect(sup.get(child)!.waiting).toBeUndefined();
  });

  it('names a resource limit and a group limit', async () => {
    const g = gate();
    const sup = await start({
      journal: ':memory:',
      agents: { held: { module: agentPath('gate'), concurrency: 4 } },
      resources: { gpu: { concurrency: 1 } },
      groups: { tenant: { concurrency: 1 } },
    });
    const first = await sup.submit({ agent: 'held', input: { gate: g.path }, resources: ['gpu'] });
    const grouped = await sup.submit({ agent: 'held', input: { gate: g.path }, group: 'tenant' });
    await waitFor(() => sup.get(first)?.state === 'running' && sup.get(grouped)?.state === 'running', 'both to run');
    const gpu = await sup.submit({ agent: 'held', input: { gate: g.path }, resources: ['gpu'] });
    const tenant = await sup.submit({ agent: 'held', input: { gate: g.path }, group: 'tenant' });
    expect(sup.get(gpu)!.waiting).toEqual({ for: 'resource-limit', resource: 'gpu', limit: 1, inUse: 1 });
    expect(sup.get(tenant)!.waiting).toEqual({ for: 'group-limit', group: 'tenant', limit: 1, inUse: 1 });
    g.open();
    await Promise.all([first, grouped, gpu, tenant].map((id) => sup.result(id)));
  });
});

describe('pausing an agent', () => {
  it('holds its queued tasks, accepts submissions, survives a restart of the journal, and resumes', async () => {
    const journal = join(tempDir(), 'troupe.db');
    const options = { journal, agents: { echo } };
    const first = await Supervisor.start(options);
    const events = record(first);
    expect(await first.pause('echo')).toEqual({ agent: 'echo', paused: true });
    expect(await first.pause('echo')).toEqual({ agent: 'echo', paused: true }); // idempotent
    const id = await first.submit({ agent: 'echo', input: 'later' });
    expect(first.get(id)!.state).toBe('queued');
    await expect(first.pause('nope')).rejects.toMatchObject({ code: 'TROUPE_UNKNOWN_AGENT', details: { field: 'agent', value: 'nope' } });
    await waitFor(() => events.some((e) => e.type === 'paused'), 'the paused event');
    expect(events.find((e) => e.type === 'paused')).toMatchObject({ agent: 'echo' });
    await first.shutdown();

    const seen: TroupeEvent[] = [];
    const second = await start({ ...options, onEvent: (e) => seen.push(e) });
    // onEvent heard the replay of the journal, which happened inside start().
    expect(seen.find((e) => e.type === 'recovered')).toMatchObject({ queued: 1 });
    expect(second.agents().echo!.paused).toBe(true);
    expect(second.get(id)).toMatchObject({ state: 'queued', waiting: { for: 'paused', agent: 'echo' } });
    await second.resume('echo');
    expect(await second.result(id)).toMatchObject({ input: 'later' });
    expect(seen.some((e) => e.type === 'resumed')).toBe(true);
    expect(second.agents().echo!.paused).toBe(false);
  });

  it('keeps running a runtime whose onEvent throws, and refuses an onEvent that is not a function', async () => {
    const sup = await start({ journal: ':memory:', agents: { echo }, onEvent: () => { throw new Error('listener bug'); } });
    expect(await sup.result(await sup.submit({ agent: 'echo', input: 1 }))).toMatchObject({ input: 1 });
    await expect(Supervisor.start({ journal: ':memory:', agents: { echo }, onEvent: 'yes' as never })).rejects.toMatchObject({
      code: 'TROUPE_INVALID_OPTIONS',
      details: { field: 'options.onEvent' },
    });
  });
});

describe('command executables checked at start', () => {
  it('fails a missing one by default, naming the option; warns or skips when asked', async () => {
    const missing = { command: 'troupe-no-such-command-here', args: [] };
    await expect(Supervisor.start({ journal: ':memory:', agents: { x: missing } })).rejects.toMatchObject({
      code: 'TROUPE_COMMAND_NOT_FOUND',
      details: { field: 'options.agents.x.command', value: 'troupe-no-such-command-here' },
    });
    await expect(Supervisor.start({ journal: ':memory:', agents: { x: { command: './nope.sh', cwd: tempDir() } } })).rejects.toMatchObject({
      code: 'TROUPE_COMMAND_NOT_FOUND',
      message: expect.stringContaining('does not exist'),
    });
    await expect(Supervisor.start({ journal: ':memory:', agents: { x: { ...missing, commandCheck: 'maybe' } } as never })).rejects.toMatchObject({
      details: { field: 'options.agents.x.commandCheck' },
    });
    const warned = await start({ journal: ':memory:', agents: { x: { ...missing, commandCheck: 'warn' }, echo } });
    expect(Object.keys(warned.agents())).toEqual(['x', 'echo']);
    await start({ journal: ':memory:', agents: { x: { ...missing, commandCheck: 'skip' } } });
    // An executable found on PATH (node itself, as the tests run it) starts.
    await start({ journal: ':memory:', agents: { n: { command: 'node', env: { PATH: process.env.PATH ?? '' } } } });
  });
});

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { TroupeError, type Supervisor, type TroupeEvent } from '../../dist/index.js';
import { FIXTURES, agentPath, commandPath, failure, gate, record, start, tempDir, waitFor } from '../helpers.js';

const agents = { parents: { module: agentPath('parents') }, one: { module: agentPath('parents'), concurrency: 1 } };

type Out = { label: string; parents: Record<string, Out> };

/** Labels of the tasks in the order they started, from the recorded events. */
function startOrder(events: readonly TroupeEvent[], labels: Record<string, string>): string[] {
  const byId = new Map(Object.entries(labels).map(([label, id]) => [id, label]));
  return events.filter((e) => e.type === 'started').map((e) => byId.get((e as { taskId: string }).taskId) ?? '?');
}

async function rejection(p: Promise<unknown>): Promise<TroupeError> {
  const err = await p.then(() => new Error('resolved'), (e: unknown) => e);
  expect(err).toBeInstanceOf(TroupeError);
  return err as TroupeError;
}

describe('dependencies: submitGraph', () => {
  it('runs a diamond in dependency order; each handler gets its parents results by name', async () => {
    const sup = await start({ agents });
    const events = record(sup);
    const ids = await sup.submitGraph([
      { name: 'd', agent: 'parents', input: { label: 'd' }, dependsOn: ['b', 'c'] },
      { name: 'b', agent: 'parents', input: { label: 'b' }, dependsOn: ['a'] },
      { name: 'c', agent: 'parents', input: { label: 'c' }, dependsOn: ['a'] },
      { name: 'a', agent: 'parents', input: { label: 'a' } },
    ]);
    const d = (await sup.result(ids.d!)) as Out;
    expect(Object.keys(d.parents).sort()).toEqual(['b', 'c']);
    expect(d.parents.b).toEqual({ label: 'b', parents: { a: { label: 'a', parents: {} } } });
    const order = startOrder(events, ids);
    expect(order[0]).toBe('a');
    expect(order[3]).toBe('d');
    expect(sup.get(ids.d!)).toMatchObject({ name: 'd', dependsOn: [ids.b, ids.c], state: 'succeeded' });
    const unblocked = events.filter((e) => e.type === 'unblocked').map((e) => (e as { taskId: string }).taskId);
    expect(unblocked.sort()).toEqual([ids.b, ids.c, ids.d].sort());
  });

  it('holds a child blocked while its parent runs, and counts it in snapshot().queue.blocked', async () => {
    const g = gate();
    const sup = await start({ agents });
    const ids = await sup.submitGraph([
      { name: 'slow', agent: 'parents', input: { label: 'slow', gate: g.path } },
      { name: 'next', agent: 'parents', input: { label: 'next' }, dependsOn: ['slow'] },
    ]);
    await waitFor(() => sup.get(ids.slow!)?.state === 'running', 'parent running');
    expect(sup.get(ids.next!)?.state).toBe('blocked');
    expect(sup.snapshot().queue.blocked).toBe(1);
    g.open();
    await expect(sup.result(ids.next!)).resolves.toMatchObject({ parents: { slow: { label: 'slow' } } });
    expect(sup.snapshot().queue.blocked).toBe(0);
  });

  it.each(['no journal', 'journal file'])('starts the task on the longest remaining path first among ready tasks of one priority (%s)', async (mode) => {
    const g = gate();
    const sup = await start({ agents, ...(mode === 'journal file' ? { journal: join(tempDir(), 'j.db') } : {}) });
    const events = record(sup);
    const blocker = await sup.submit({ agent: 'one', input: { label: 'blocker', gate: g.path } });
    await waitFor(() => sup.get(blocker)?.state === 'running', 'blocker running');
    // Listed first and submitted first, the short tasks would win under FIFO; x1 heads a chain of 3.
    const ids = await sup.submitGraph([
      { name: 's1', agent: 'one', input: { label: 's1' } },
      { name: 's2', agent: 'one', input: { label: 's2' } },
      { name: 'x1', agent: 'one', input: { label: 'x1' } },
      { name: 'x2', agent: 'one', input: { label: 'x2' }, dependsOn: ['x1'] },
      { name: 'x3', agent: 'one', input: { label: 'x3' }, dependsOn: ['x2'] },
    ]);
    g.open();
    await Promise.all(Object.values(ids).map((id) => sup.result(id)));
    // x3's remaining path (1) ties with the short tasks', which were queued before it.
    expect(startOrder(events, { blocker, ...ids })).toEqual(['blocker', 'x1', 'x2', 's1', 's2', 'x3']);
    expect(sup.get(ids.x1!)?.rank).toBe(3);
  });

  it('weighs the critical path by estimatedMs when given', async () => {
    const g = gate();
    const sup = await start({ agents });
    const events = record(sup);
    const blocker = await sup.submit({ agent: 'one', input: { label: 'blocker', gate: g.path } });
    await waitFor(() => sup.get(blocker)?.state === 'running', 'blocker running');
    // By count the chain p → q leads; by estimate the lone long task does.
    const ids = await sup.submitGraph([
      { name: 'p', agent: 'one', input: { label: 'p' }, estimatedMs: 10 },
      { name: 'q', agent: 'one', input: { label: 'q' }, dependsOn: ['p'], estimatedMs: 10 },
      { name: 'long', agent: 'one', input: { label: 'long' }, estimatedMs: 1000 },
    ]);
    g.open();
    await Promise.all(Object.values(ids).map((id) => sup.result(id)));
    expect(startOrder(events, { blocker, ...ids })).toEqual(['blocker', 'long', 'p', 'q']);
  });

  it('depends on tasks submitted before, by id; submit() takes dependsOn too', async () => {
    const sup = await start({ agents });
    const first = await sup.submit({ agent: 'parents', input: { label: 'first' } });
    await sup.result(first);
    const ids = await sup.submitGraph([{ name: 'later', agent: 'parents', input: { label: 'later' }, dependsOn: [first] }]);
    await expect(sup.result(ids.later!)).resolves.toMatchObject({ parents: { [first]: { label: 'first' } } });
    const single = await sup.submit({ agent: 'parents', input: { label: 'single' }, dependsOn: [ids.later!] });
    await expect(sup.result(single)).resolves.toMatchObject({ parents: { later: { label: 'later' } } });
  });
});

describe('dependencies: command agents', () => {
  it('a command agent gets its parents results as TROUPE_PARENTS (JSON)', async () => {
    const sup = await start({ agents: { ...agents, cmd: { command: process.execPath, args: [commandPath('echo')] } } });
    const ids = await sup.submitGraph([
      { name: 'first', agent: 'parents', input: { label: 'first' } },
      { name: 'shell', agent: 'cmd', input: { x: 1 }, dependsOn: ['first'] },
    ]);
    await expect(sup.result(ids.shell!)).resolves.toMatchObject({ stdin: { x: 1 }, parents: { first: { label: 'first', parents: {} } } });
    const alone = await sup.submit({ agent: 'cmd', input: {} });
    await expect(sup.result(alone)).resolves.toMatchObject({ parents: null });
  });
});

describe('dependencies: a parent that fails or is cancelled', () => {
  const failing = (sup: Supervisor, policy?: 'fail' | 'ignore' | 'wait') =>
    sup.submitGraph([
      { name: 'bad', agent: 'parents', input: { label: 'bad', fail: true }, retry: { attempts: 1 } },
      { name: 'good', agent: 'parents', input: { label: 'good' } },
      { name: 'child', agent: 'parents', input: { label: 'child' }, dependsOn: ['bad', 'good'], ...(policy ? { onParentFailure: policy } : {}) },
      { name: 'grandchild', agent: 'parents', input: { label: 'grandchild' }, dependsOn: ['child'] },
    ]);

  it('fails the child and its descendants by default, without running them', async () => {
    const sup = await start({ agents });
    const events = record(sup);
    const ids = await failing(sup);
    const err = await failure(sup, ids.child!);
    expect(err.cause.code).toBe('TROUPE_DEPENDENCY_FAILED');
    expect(err.cause.message).toContain(ids.bad);
    expect((await failure(sup, ids.grandchild!)).cause.code).toBe('TROUPE_DEPENDENCY_FAILED');
    expect(startOrder(events, ids).sort()).toEqual(['bad', 'good']);
    expect(sup.get(ids.child!)?.state).toBe('dead');
  });

  it('ignore: the child runs once every parent ended, without the failed one in ctx.parents', async () => {
    const sup = await start({ agents });
    const ids = await failing(sup, 'ignore');
    const out = (await sup.result(ids.child!)) as Out;
    expect(Object.keys(out.parents)).toEqual(['good']);
    await expect(sup.result(ids.grandchild!)).resolves.toMatchObject({ parents: { child: { label: 'child' } } });
  });

  it('wait: the child stays blocked until the parent is redriven and succeeds', async () => {
    const sup = await start({ agents });
    const ids = await failing(sup, 'wait');
    await failure(sup, ids.bad!);
    await waitFor(() => sup.get(ids.good!)?.state === 'succeeded', 'good parent done');
    expect(sup.get(ids.child!)?.state).toBe('blocked');
    await sup.redrive(ids.bad!, { input: { label: 'bad' } });
    const out = (await sup.result(ids.grandchild!)) as Out;
    expect(out.parents.child?.parents).toMatchObject({ bad: { label: 'bad' }, good: { label: 'good' } });
  });

  it('a redriven child that failed with its parent waits for the parent again', async () => {
    const sup = await start({ agents });
    const ids = await failing(sup);
    await failure(sup, ids.grandchild!);
    // The parent is still dead: the child goes back to blocked and fails again at once.
    await sup.redrive([ids.child!]);
    expect((await failure(sup, ids.child!)).cause.code).toBe('TROUPE_DEPENDENCY_FAILED');
    await sup.redrive([ids.bad!], { input: { label: 'bad' } });
    await sup.result(ids.bad!);
    await sup.redrive([ids.child!, ids.grandchild!]);
    await expect(sup.result(ids.grandchild!)).resolves.toMatchObject({ label: 'grandchild' });
  });

  it('cancelling a parent cancels its blocked descendants', async () => {
    const g = gate();
    const sup = await start({ agents });
    const ids = await sup.submitGraph([
      { name: 'root', agent: 'parents', input: { label: 'root', gate: g.path } },
      { name: 'mid', agent: 'parents', input: { label: 'mid' }, dependsOn: ['root'], onParentFailure: 'ignore' },
      { name: 'leaf', agent: 'parents', input: { label: 'leaf' }, dependsOn: ['mid'] },
      { name: 'other', agent: 'parents', input: { label: 'other' } },
    ]);
    await waitFor(() => sup.get(ids.root!)?.state === 'running', 'root running');
    await sup.cancel(ids.root!);
    for (const name of ['mid', 'leaf']) {
      await waitFor(() => sup.get(ids[name]!)?.state === 'cancelled', `${name} cancelled`);
    }
    expect(sup.get(ids.mid!)?.cancelReason).toContain(ids.root);
    await expect(sup.result(ids.other!)).resolves.toMatchObject({ label: 'other' });
  });
});

describe('dependencies: bad graphs are refused whole', () => {
  it('names the cycle with TROUPE_DEPENDENCY_CYCLE and accepts nothing', async () => {
    const sup = await start({ agents });
    const err = await rejection(
      sup.submitGraph([
        { name: 'a', agent: 'parents', dependsOn: ['c'] },
        { name: 'b', agent: 'parents', dependsOn: ['a'] },
        { name: 'c', agent: 'parents', dependsOn: ['b'] },
        { name: 'free', agent: 'parents' },
      ]),
    );
    expect(err.code).toBe('TROUPE_DEPENDENCY_CYCLE');
    expect(err.message).toMatch(/a → c → b → a|c → b → a → c|b → a → c → b/);
    expect(await sup.list({})).toEqual([]);
  });

  it('refuses a self-dependency, an unknown name or id, and a repeated name, naming the field', async () => {
    const sup = await start({ agents });
    const self = await rejection(sup.submitGraph([{ name: 'a', agent: 'parents', dependsOn: ['a'] }]));
    expect(self).toMatchObject({ code: 'TROUPE_DEPENDENCY_CYCLE', details: { field: 'tasks[0].dependsOn[0]' } });
    const unknown = await rejection(sup.submitGraph([{ name: 'ok', agent: 'parents' }, { name: 'x', agent: 'parents', dependsOn: ['ok', 'nope'] }]));
    expect(unknown).toMatchObject({ code: 'TROUPE_UNKNOWN_DEPENDENCY', details: { field: 'tasks[1].dependsOn[1]', value: 'nope' } });
    const single = await rejection(sup.submit({ agent: 'parents', dependsOn: ['no-such-id'] }));
    expect(single).toMatchObject({ code: 'TROUPE_UNKNOWN_DEPENDENCY', details: { field: 'task.dependsOn[0]' } });
    const batch = await rejection(sup.submitBatch([{ agent: 'parents' }, { agent: 'parents', dependsOn: ['no-such-id'] }]));
    expect(batch).toMatchObject({ code: 'TROUPE_UNKNOWN_DEPENDENCY', details: { field: 'tasks[1].dependsOn[0]' } });
    const twice = await rejection(sup.submitGraph([{ name: 'a', agent: 'parents' }, { name: 'a', agent: 'parents' }]));
    expect(twice).toMatchObject({ code: 'TROUPE_INVALID_TASK', details: { field: 'tasks[1].name' } });
    const bad = await rejection(sup.submitGraph([{ name: 'a', agent: 'nobody' }]));
    expect(bad).toMatchObject({ code: 'TROUPE_UNKNOWN_AGENT', details: { field: 'tasks[0].agent' } });
    const policy = await rejection(sup.submit({ agent: 'parents', onParentFailure: 'ignore' }));
    expect(policy).toMatchObject({ code: 'TROUPE_INVALID_TASK', details: { field: 'task.onParentFailure' } });
    expect(await sup.list({})).toEqual([]);
  });
});

describe('dependencies: journaled', () => {
  it('a graph half done at a SIGKILL continues after restart, with its parents results', async () => {
    const dir = tempDir();
    const journal = join(dir, 'troupe.db');
    const g = gate();
    const child = spawn(process.execPath, [join(FIXTURES, 'journal', 'graph-holder.mjs'), JSON.stringify({ journal, gate: g.path, agentsDir: join(FIXTURES, 'agents') })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onTestFinished(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await waitFor(() => out.includes('\n') || child.exitCode !== null, 'holder ready');
    const { ids } = JSON.parse(out.split('\n')[0]!) as { ids: Record<string, string> };
    child.kill('SIGKILL');
    await waitFor(() => child.signalCode !== null, 'holder dead');

    const sup = await start({ journal, agents: { parents: { module: agentPath('parents'), concurrency: 1 } } });
    expect(sup.get(ids.a!)?.state).toBe('succeeded');
    expect(sup.get(ids.b!)).toMatchObject({ state: 'running', attempt: 2 });
    expect(sup.get(ids.c!)?.state).toBe('blocked');
    expect(sup.get(ids.d!)?.state).toBe('queued');
    g.open();
    const c = (await sup.result(ids.c!)) as Out;
    expect(c.parents).toEqual({ b: { label: 'b', parents: { a: { label: 'a', parents: {} } } } });
    await expect(sup.result(ids.d!)).resolves.toMatchObject({ parents: { a: { label: 'a' } } });
    expect(sup.get(ids.c!)).toMatchObject({ name: 'c', graph: sup.get(ids.a!)?.graph, attempt: 1 });
  });
});

import { existsSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandAgentOptions, TroupeEvent } from '../../dist/index.js';
import { commandPath, failure, isAlive, readPids, record, start, tempDir, waitFor } from '../helpers.js';

// Every command agent here is a real subprocess: `node test/fixtures/commands/<name>.mjs`.
// One attempt: these tests look at a single run's failure (retries have their own tests).
const cmd = (name: string, extra: Partial<CommandAgentOptions> = {}): CommandAgentOptions => ({
  command: process.execPath,
  args: [commandPath(name)],
  retry: { attempts: 1 },
  ...extra,
});
// One thread is enough (no module agents); breakers off so that expected failures hold nothing back.
const base = { pool: { minThreads: 1, maxThreads: 1 }, breaker: false as const };

type CommandCause = Error & { code?: string; exitCode?: number | null; signal?: string | null; stderrTail?: string };


/** A ceiling for within(), like waitFor's: it ends a test that would hang, it is no budget. */
const CEILING_MS = 60_000;

/** Fails the test instead of hanging it when `promise` does not settle within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}


/** True until `pid` is reaped: a zombie still counts. Only for direct children, which Node reaps. */
function isUnreaped(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}


const eventsOf = (events: TroupeEvent[], id: string, type: TroupeEvent['type']): TroupeEvent[] =>
  events.filter((e) => e.type === type && 'taskId' in e && e.taskId === id);

describe('command agents: input and output', () => {
  it('sends the input as JSON on stdin and parses JSON from stdout', async () => {
    const sup = await start({ ...base, agents: { echo: cmd('echo') } });
    const input = { text: 'héllo wörld', list: [1, 2, 3], nested: { ok: true } };
    const id = await sup.submit({ agent: 'echo', input });
    const result = await sup.result<{ stdin: unknown; args: string[] }>(id);
    expect(result.stdin).toEqual(input);
    expect(result.args).toEqual([]);
    expect(sup.get(id)).toMatchObject({ state: 'succeeded', result });
  });

  it("substitutes {{input}} and {{input.field}} into the arguments with input: 'args', and sends nothing on stdin", async () => {
    const args = [commandPath('echo'), '--name={{input.name}}', '{{input}}', '{{ input.nested.n }}', '{{input.missing}}', 'plain'];
    const sup = await start({
      ...base,
      agents: { byArgs: cmd('echo', { input: 'args', args }), noInput: cmd('echo', { input: 'none' }) },
    });
    const input = { name: 'Ada Lovelace', nested: { n: 42 } };
    const byArgs = await sup.result<{ stdin: unknown; args: string[] }>(await sup.submit({ agent: 'byArgs', input }));
    expect(byArgs.args).toEqual(['--name=Ada Lovelace', JSON.stringify(input), '42', 'null', 'plain']);
    expect(byArgs.stdin).toBeNull();
    const noInput = await sup.result<{ stdin: unknown; args: string[] }>(await sup.submit({ agent: 'noInput', input }));
    expect(noInput).toMatchObject({ stdin: null, args: [] });
  });

  it("returns stdout as a string with output: 'text'", async () => {
    const text = 'line one\n  {not json}\nlast line: €\n';
    const sup = await start({ ...base, agents: { print: cmd('print', { output: 'text', args: [commandPath('print'), text] }) } });
    expect(await sup.result(await sup.submit({ agent: 'print' }))).toBe(text);
  });

  it('runs the process with the configured env (on top of the inherited one) and cwd', async () => {
    const dir = tempDir();
    expect(process.env.TROUPE_TEST_VAR).toBeUndefined();
    const sup = await start({
      ...base,
      agents: { configured: cmd('echo', { env: { TROUPE_TEST_VAR: 'from options' }, cwd: dir }), plain: cmd('echo') },
    });
    const configured = await sup.result(await sup.submit({ agent: 'configured', input: {} }));
    expect(configured).toMatchObject({ env: 'from options', hasPath: true, cwd: realpathSync(dir) });
    const plain = await sup.result(await sup.submit({ agent: 'plain', input: {} }));
    expect(plain).toMatchObject({ env: null, hasPath: true, cwd: process.cwd() });
  });
});

describe('command agents: failures', () => {
  it('fails with TROUPE_COMMAND_FAILED, the exit code and a bounded tail of stderr on a non-zero exit', async () => {
    const sup = await start({ ...base, agents: { fail: cmd('fail', { stderrTailBytes: 64 }) } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'fail', input: { code: 3, lines: 40 } });
    const err = await failure<CommandCause>(sup, id);
    expect(err.cause).toMatchObject({ code: 'TROUPE_COMMAND_FAILED', exitCode: 3 });
    expect(err.cause.message).toContain('exited with code 3: fatal: boom');
    const tail = err.cause.stderrTail!;
    expect(tail.endsWith('line 039\nline 040\nfatal: boom\n')).toBe(true);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(64);
    expect(Buffer.byteLength(tail)).toBeGreaterThan(50);
    expect(tail).not.toContain('line 001');
    const facts = { code: 'TROUPE_COMMAND_FAILED', exitCode: 3, stderrTail: tail };
    expect(sup.get(id)).toMatchObject({ state: 'dead', error: facts });
    expect(eventsOf(events, id, 'failed')).toMatchObject([{ error: facts }]);
  });

  it('keeps protocol lines (::progress, ::heartbeat, ...) out of the stderr tail', async () => {
    const script = `process.stderr.write('before\\n::progress 50\\n::heartbeat\\n::checkpoint {"at":1}\\nafter\\n', () => process.exit(2))`;
    const sup = await start({ ...base, agents: { chatty: { command: process.execPath, args: ['-e', script], output: 'text' } } });
    const err = await failure<CommandCause>(sup, await sup.submit({ agent: 'chatty' }));
    expect(err.cause).toMatchObject({ code: 'TROUPE_COMMAND_FAILED', exitCode: 2, stderrTail: 'before\nafter\n' });
  });

  it('cuts the stderr tail at a character boundary', async () => {
    const sup = await start({ ...base, agents: { fail: cmd('fail', { stderrTailBytes: 64 }) } });
    const line = 'é'.repeat(10); // 21 bytes with its newline
    const err = await failure<CommandCause>(sup, await sup.submit({ agent: 'fail', input: { code: 1, lines: 5, line } }));
    // The last 64 bytes start in the middle of an "é"; the tail drops that broken byte.
    expect(err.cause.stderrTail).toBe(`éééé\n${line}\n${line}\nfatal: boom\n`);
  });

  it('reports a process killed by a signal with that signal and no exit code', async () => {
    const sup = await start({ ...base, agents: { fail: cmd('fail') } });
    const err = await failure<CommandCause>(sup, await sup.submit({ agent: 'fail', input: { signal: 'SIGKILL', lines: 1 } }));
    expect(err.cause).toMatchObject({ code: 'TROUPE_COMMAND_FAILED', exitCode: null, signal: 'SIGKILL' });
    expect(err.cause.message).toContain('was killed by SIGKILL');
    expect(err.cause.stderrTail).toBe('line 001\nfatal: boom\n');
  });

  it('fails with TROUPE_COMMAND_OUTPUT when stdout exceeds maxOutputBytes or is not JSON, and keeps running', async () => {
    const sup = await start({
      ...base,
      agents: { flood: cmd('flood', { maxOutputBytes: 1000 }), print: cmd('print'), echo: cmd('echo') },
    });
    const events = record(sup);
    const submit = (agent: string, input: unknown) => sup.submit({ agent, input });
    const exact = await submit('flood', { bytes: 1000 });
    const oneOver = await submit('flood', { bytes: 1001 });
    const large = await submit('flood', { bytes: 200_000 });
    const endless = await submit('flood', { forever: true });
    expect((await sup.result<string>(exact)).length).toBe(998);
    for (const id of [oneOver, large, endless]) {
      const err = await within(failure(sup, id), CEILING_MS, `overflowing task ${id}`);
      expect(err.cause).toMatchObject({ code: 'TROUPE_COMMAND_OUTPUT' });
      expect(err.cause.message).toContain('exceeded maxOutputBytes (1000)');
      expect(sup.get(id)!.error).toMatchObject({ code: 'TROUPE_COMMAND_OUTPUT' });
    }

    const printing = (text: string) => start({ ...base, agents: { print: cmd('print', { args: [commandPath('print'), text] }) } });
    const bad = await printing('{"half": ');
    const badErr = await within(failure(bad, await bad.submit({ agent: 'print' })), CEILING_MS, 'invalid JSON task');
    expect(badErr.cause).toMatchObject({ code: 'TROUPE_COMMAND_OUTPUT' });
    expect(badErr.cause.message).toContain('not valid JSON');
    const empty = await printing('');
    expect(await empty.result(await empty.submit({ agent: 'print' }))).toBeNull();

    // The failures above were the tasks' own: the runtime took no damage and still runs work.
    expect(await sup.result(await submit('echo', { still: 'alive' }))).toMatchObject({ stdin: { still: 'alive' } });
    expect(events.filter((e) => e.type === 'actor-crashed')).toEqual([]);
  });

  it('fails with TROUPE_COMMAND_SPAWN_FAILED for a missing executable, a missing cwd or an impossible argument', async () => {
    const dir = tempDir();
    const sup = await start({
      ...base,
      agents: {
        missing: { command: join(dir, 'no-such-command'), commandCheck: 'skip' }, // checked at start otherwise
        badCwd: cmd('echo', { cwd: join(dir, 'no-such-dir') }),
        byArgs: cmd('echo', { input: 'args', args: [commandPath('echo'), '{{input.name}}'] }),
      },
    });
    const events = record(sup);
    for (const agent of ['missing', 'badCwd']) {
      const err = await failure<CommandCause>(sup, await sup.submit({ agent, input: {} }));
      expect(err.cause).toMatchObject({ code: 'TROUPE_COMMAND_SPAWN_FAILED' });
    }
    // A NUL byte cannot be passed to exec(): spawn() throws synchronously. That is the task's failure.
    const nul = await sup.submit({ agent: 'byArgs', input: { name: 'a\u0000b' } });
    const err = await within(failure(sup, nul), CEILING_MS, 'task with a NUL byte in its arguments');
    expect(err.cause).toMatchObject({ code: 'TROUPE_COMMAND_SPAWN_FAILED' });
    expect(events.filter((e) => e.type === 'actor-crashed')).toEqual([]);
    const ok = await sup.submit({ agent: 'byArgs', input: { name: 'fine' } });
    expect(await sup.result(ok)).toMatchObject({ args: ['fine'] });
  });
});

describe('command agents: events', () => {
  it('publishes stderr lines as log events and ::progress lines as progress events', async () => {
    const sup = await start({ ...base, agents: { chatty: cmd('chatty') } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'chatty', input: {} });
    expect(await sup.result(id)).toEqual({ ok: true });

    const mine = events.filter((e) => 'taskId' in e && e.taskId === id);
    const logs = mine.flatMap((e) => (e.type === 'log' ? [e.message] : []));
    expect(logs).toEqual(['starting', 'x'.repeat(2000), 'prix: 5 €', 'done, without a newline']);
    const progress = mine.flatMap((e) => (e.type === 'progress' ? [e.value] : []));
    expect(progress).toEqual([{ pct: 50 }, 'halfway', { pct: 100 }]);
    expect(mine.filter((e) => e.type === 'log' || e.type === 'progress').every((e) => 'agent' in e && e.agent === 'chatty')).toBe(true);
    // All of it arrives while the task runs: after `started`, before `succeeded`.
    const types = mine.map((e) => e.type).filter((t) => t !== 'heartbeat');
    expect(types[0]).toBe('submitted');
    expect(types[1]).toBe('started');
    expect(types.at(-1)).toBe('succeeded');
    expect(types.filter((t) => t === 'succeeded')).toHaveLength(1);
    expect(sup.get(id)!.progress).toEqual({ pct: 100 });
  });
});

describe('command agents: cancellation', () => {
  it('stops a running command that exits on SIGTERM', async () => {
    const dir = tempDir();
    // Longer than the ceiling on the cancel: had SIGKILL been needed, the cancel would not settle in time.
    const killGraceMs = 10 * CEILING_MS;
    const sup = await start({ ...base, agents: { wait: cmd('wait', { killGraceMs }) } });
    const events = record(sup);
    const pidFile = join(dir, 'pid');
    const id = await sup.submit({ agent: 'wait', input: { pidFile } });
    const { pid } = await readPids(pidFile);
    expect(sup.get(id)!.state).toBe('running');
    expect(isAlive(pid)).toBe(true);

    // SIGTERM did it: no SIGKILL was needed, which comes only after killGraceMs, past the ceiling.
    expect(await within(sup.cancel(id, 'no longer needed'), CEILING_MS, 'cancel')).toBe(true);
    await waitFor(() => !isAlive(pid), `process ${pid} gone`);
    await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
    expect(sup.get(id)).toMatchObject({ state: 'cancelled', cancelReason: 'no longer needed' });
    expect(eventsOf(events, id, 'cancelled')).toHaveLength(1);
    expect(eventsOf(events, id, 'failed')).toEqual([]);
    expect(await sup.cancel(id)).toBe(false);
  });

  it('SIGKILLs a running command that ignores SIGTERM, after killGraceMs', async () => {
    const dir = tempDir();
    const killGraceMs = 200;
    const sup = await start({ ...base, agents: { wait: cmd('wait', { killGraceMs }) } });
    const pidFile = join(dir, 'pid');
    const termFile = join(dir, 'got-sigterm');
    const id = await sup.submit({ agent: 'wait', input: { pidFile, trapTerm: true, termFile } });
    const { pid } = await readPids(pidFile);

    const t0 = Date.now();
    expect(await within(sup.cancel(id), CEILING_MS, 'cancel')).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(killGraceMs - 10); // it outlived SIGTERM for the grace period
    expect(existsSync(termFile)).toBe(true);
    await waitFor(() => !isAlive(pid), `process ${pid} gone`);
    await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
  });

  it('also stops what the command started (a grandchild holding its pipes)', async () => {
    const dir = tempDir();
    const sup = await start({ ...base, agents: { spawner: cmd('spawner', { killGraceMs: 200 }) } });
    const pidFile = join(dir, 'pids');
    const id = await sup.submit({ agent: 'spawner', input: { pidFile, grandchild: 'sleep', leader: 'stay' } });
    const { pid, grandchild } = await readPids(pidFile);
    expect(isAlive(grandchild!)).toBe(true);

    expect(await within(sup.cancel(id), CEILING_MS, 'cancel')).toBe(true);
    await waitFor(() => !isAlive(pid) && !isAlive(grandchild!), `processes ${pid} and ${grandchild} gone`);
    await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
  });

  it('SIGKILLs a grandchild that ignores SIGTERM even when the command itself exits on SIGTERM', async () => {
    const dir = tempDir();
    const sup = await start({ ...base, agents: { spawner: cmd('spawner', { killGraceMs: 200 }) } });
    const pidFile = join(dir, 'pids');
    const termFile = join(dir, 'grandchild-got-sigterm');
    const id = await sup.submit({ agent: 'spawner', input: { pidFile, termFile, grandchild: 'stubborn', leader: 'stay' } });
    const { pid, grandchild } = await readPids(pidFile);

    expect(await within(sup.cancel(id), CEILING_MS, 'cancel')).toBe(true);
    await waitFor(() => !isAlive(pid), `command ${pid} gone`);
    await waitFor(() => !isAlive(grandchild!), `grandchild ${grandchild} gone`);
    expect(existsSync(termFile)).toBe(true); // it was asked first, in the same process group
    await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
  });

  it('stops a grandchild left behind by a command that has already exited', async () => {
    const dir = tempDir();
    const sup = await start({ ...base, agents: { spawner: cmd('spawner', { killGraceMs: 200 }) } });
    const pidFile = join(dir, 'pids');
    const id = await sup.submit({ agent: 'spawner', input: { pidFile, grandchild: 'sleep', leader: 'exit' } });
    const { pid, grandchild } = await readPids(pidFile);
    // Reaped, not merely dead: the runtime has seen it exit.
    await waitFor(() => !isUnreaped(pid), `command ${pid} exited`);
    // The grandchild still holds stdout and stderr, so the task is not over yet.
    expect(sup.get(id)!.state).toBe('running');

    expect(await within(sup.cancel(id), CEILING_MS, 'cancel')).toBe(true);
    await waitFor(() => !isAlive(grandchild!), `grandchild ${grandchild} gone`);
    await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
  });

  it('settles the cancellation even when an escaped process (own session) keeps its pipes open', async () => {
    const dir = tempDir();
    const sup = await start({ ...base, agents: { spawner: cmd('spawner', { killGraceMs: 100 }) } });
    const pidFile = join(dir, 'pids');
    const id = await sup.submit({ agent: 'spawner', input: { pidFile, grandchild: 'escapee', leader: 'stay' } });
    const { pid, grandchild } = await readPids(pidFile);

    expect(await within(sup.cancel(id), CEILING_MS, 'cancel')).toBe(true);
    await waitFor(() => !isAlive(pid), `command ${pid} gone`);
    expect(isAlive(grandchild!)).toBe(true); // out of reach of the group signals; killed after the test
    await expect(sup.result(id)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
  });

  it('drops a queued command task: it never starts', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const sup = await start({ ...base, agents: { one: cmd('wait', { concurrency: 1, killGraceMs: 200 }) } });
    const events = record(sup);
    const pidFile = (name: string) => join(dir, `${name}.pid`);
    const first = await sup.submit({ agent: 'one', input: { pidFile: pidFile('first'), gate } });
    const queued = await sup.submit({ agent: 'one', input: { pidFile: pidFile('queued'), gate } });
    await readPids(pidFile('first'));
    expect(sup.get(queued)!.state).toBe('queued');

    expect(await sup.cancel(queued, 'not wanted')).toBe(true);
    await expect(sup.result(queued)).rejects.toMatchObject({ code: 'TROUPE_TASK_CANCELLED' });
    // FIFO: had the cancelled task stayed in the queue, it would run before this one.
    const after = await sup.submit({ agent: 'one', input: { pidFile: pidFile('after'), gate } });
    writeFileSync(gate, 'open');
    expect(await sup.result(first)).toMatchObject({ released: true });
    expect(await sup.result(after)).toMatchObject({ released: true });

    expect(existsSync(pidFile('queued'))).toBe(false);
    expect(eventsOf(events, queued, 'started')).toEqual([]);
    expect(sup.get(queued)).toMatchObject({ state: 'cancelled', attempt: 0, cancelReason: 'not wanted' });
    expect(sup.get(queued)!.startedAt).toBeUndefined();
  });
});

describe('command agents: concurrency', () => {
  it('never runs more processes of an agent at once than its concurrency', async () => {
    const dir = tempDir();
    const sup = await start({ ...base, agents: { slot: cmd('slot', { concurrency: 2 }) } });
    const events = record(sup);
    const markers = () => readdirSync(dir).filter((n) => n.startsWith('running-'));
    const ids: string[] = [];
    for (let label = 0; label < 6; label += 1) ids.push(await sup.submit({ agent: 'slot', input: { dir, label } }));

    // Release one running task at a time; each release must let exactly one more start.
    let observed = 0;
    for (let done = 0; done < 6; done += 1) {
      const expected = Math.min(2, 6 - done);
      await waitFor(() => {
        observed = Math.max(observed, markers().length);
        return markers().length >= expected;
      }, `${expected} tasks running after ${done} released`);
      // Pool reports come at most once per autoscale interval: on a fast machine the whole test may fit
      // between two, so the first pair is held until one has reported them.
      if (done === 0) await waitFor(() => events.some((e) => e.type === 'pool' && e.processes === 2), 'a pool report of 2 processes');
      const marker = markers()[0]!;
      writeFileSync(join(dir, marker.replace('running-', 'release-')), '');
      await waitFor(() => !existsSync(join(dir, marker)), `${marker} released`);
    }

    const results = await Promise.all(ids.map((id) => sup.result<{ label: number; seen: number }>(id)));
    expect(results.map((r) => r.label)).toEqual([0, 1, 2, 3, 4, 5]);
    // Each process counted the running processes (itself included) when it started.
    expect(Math.max(...results.map((r) => r.seen))).toBe(2);
    expect(observed).toBe(2);
    const processes = events.flatMap((e) => (e.type === 'pool' ? [e.processes] : []));
    expect(Math.max(...processes)).toBe(2);
  });
});

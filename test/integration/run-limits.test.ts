import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { CommandAgentOptions, Supervisor, TroupeEvent } from '../../dist/index.js';
import { agentPath, commandPath, failure, gate, isAlive, manualClock, readPids, record, start, tempDir, waitFor } from '../helpers.js';

// Run limits: timeoutMs (counted from the start of a run) and stallTimeoutMs (counted from the last
// heartbeat). A run that breaks one is stopped for real: its thread terminated, its process group killed.
//
// Where a limit must pass at a given point of a run, the run is on a manual clock, advanced once the
// run is known to be there: on a loaded machine a command takes seconds to start, and a thread may wait
// as long to be scheduled, which a real clock would count against the limit (and fail the test). With
// `frozen`, the clock does not move with real time at all: a heartbeat that arrives between two steps
// of the clock is exactly one step after the one before it.

const cmd = (name: string, extra: Partial<CommandAgentOptions> = {}): CommandAgentOptions => ({
  command: process.execPath,
  args: [commandPath(name)],
  ...extra,
});
const once = { retry: { attempts: 1 } };
const pool2 = { minThreads: 2, maxThreads: 2, autoscaleIntervalMs: 20 };
/** Command agents only: one thread is enough. */
const one = { minThreads: 1, maxThreads: 1 };
/** True once a gate.mjs task waits at its gate: it is on a thread. */
const onThread = (sup: Supervisor, id: string) => (sup.get(id)?.progress as { waiting?: boolean } | undefined)?.waiting === true;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Of<T extends TroupeEvent['type']> = Extract<TroupeEvent, { type: T }>;
const eventsOf = <T extends TroupeEvent['type']>(events: TroupeEvent[], id: string, type: T): Of<T>[] =>
  events.filter((e): e is Of<T> => e.type === type && 'taskId' in e && e.taskId === id);


/** Waits until a fixture's shared counter stops growing (sampled 200 ms apart): nothing of it runs. */
async function stopsGrowing(beats: Int32Array, what: string): Promise<number> {
  const deadline = Date.now() + 60_000; // a ceiling, like waitFor's
  for (let last = Atomics.load(beats, 0); ; ) {
    await sleep(200);
    const next = Atomics.load(beats, 0);
    if (next === last) return next;
    if (Date.now() > deadline) throw new Error(`${what} still runs: its counter keeps growing`);
    last = next;
  }
}

describe('timeouts of module agents', () => {
  it('fails a CPU-spinning handler with TROUPE_TASK_TIMEOUT and terminates its thread after the grace period', async () => {
    const beats = new Int32Array(new SharedArrayBuffer(4));
    const clock = manualClock({ frozen: true });
    const spin = { module: agentPath('spin'), timeoutMs: 500, cancelGraceMs: 100, ...once };
    const sup = await start({ clock, pool: pool2, breaker: false, agents: { spin, echo: { module: agentPath('echo') } } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'spin', input: { beats: beats.buffer } });
    await waitFor(() => Atomics.load(beats, 0) > 0 && sup.get(id)!.progress !== undefined, 'spinning');
    const { threadId } = sup.get(id)!.progress as { threadId: number };

    clock.advance(500); // its timeout: it is asked to stop, which it cannot hear
    clock.advance(100); // the grace period: its thread is terminated
    const err = await failure(sup, id);
    expect(err.cause).toMatchObject({ code: 'TROUPE_TASK_TIMEOUT' });
    expect(sup.get(id)).toMatchObject({ state: 'dead', error: { code: 'TROUPE_TASK_TIMEOUT' } });
    expect(sup.get(id)!.history).toMatchObject([{ attempt: 1, threadId, error: { code: 'TROUPE_TASK_TIMEOUT' } }]);
    expect(sup.get(id)!.history![0]!.durationMs).toBeGreaterThanOrEqual(500);
    // The handler ignored its signal, so the outcome came once the grace period had passed too.
    const [started] = eventsOf(events, id, 'started');
    const [failed] = eventsOf(events, id, 'failed');
    expect(failed).toMatchObject({ dead: true, error: { code: 'TROUPE_TASK_TIMEOUT' } });
    expect(failed!.at - started!.at).toBeGreaterThanOrEqual(590);

    await waitFor(() => !sup.snapshot().pool.threadIds.includes(threadId), 'timed-out thread gone from the pool');
    const frozen = await stopsGrowing(beats, 'the timed-out handler');
    for (let i = 0; i < 4; i += 1) await sup.result(await sup.submit({ agent: 'echo', input: i }));
    await sleep(200);
    expect(Atomics.load(beats, 0)).toBe(frozen);
    await waitFor(() => new Set(sup.snapshot().pool.threadIds).size === 2, 'pool back to two threads');
    expect(sup.snapshot().counters).toMatchObject({ timedOut: 1, failed: 1, dead: 1, retried: 0, stalled: 0, succeeded: 4 });
    expect(eventsOf(events, id, 'stalled')).toEqual([]);
  });

  it('counts the timeout from the start of the run: time queued behind another task does not count', async () => {
    const clock = manualClock();
    const sup = await start({ clock, breaker: false, agents: { gate: { module: agentPath('gate'), concurrency: 1, timeoutMs: 60_000, ...once } } });
    const [ga, gb, gc] = [gate(), gate(), gate()];
    const a = await sup.submit({ agent: 'gate', input: { gate: ga.path, label: 'a' } });
    const b = await sup.submit({ agent: 'gate', input: { gate: gb.path, label: 'b' } });
    const c = await sup.submit({ agent: 'gate', input: { gate: gc.path, label: 'c' } });
    await waitFor(() => onThread(sup, a), 'a on its thread');
    expect([sup.get(b)!.state, sup.get(c)!.state]).toEqual(['queued', 'queued']);

    clock.advance(50_000); // b and c have waited 50 s, a has run 50 s: none is over its 60 s
    ga.open();
    expect(await sup.result(a)).toMatchObject({ label: 'a' });
    await waitFor(() => onThread(sup, b), 'b on its thread');
    clock.advance(50_000); // 100 s since b was submitted, 50 s since it started
    // A timer that fired in advance() has marked the run failed already: b would fail now whatever it does.
    gb.open();
    expect(await sup.result(b)).toMatchObject({ label: 'b' });
    expect(sup.get(b)!.history).toBeUndefined();

    // c waited 100 s; its 60 s start only now, and they do run out.
    await waitFor(() => onThread(sup, c), 'c on its thread');
    clock.advance(60_001);
    expect((await failure(sup, c)).cause).toMatchObject({ code: 'TROUPE_TASK_TIMEOUT' });
    const [run] = sup.get(c)!.history!;
    expect(run!.durationMs).toBeGreaterThanOrEqual(60_000);
    expect(run!.startedAt - sup.get(c)!.submittedAt).toBeGreaterThanOrEqual(100_000);
    expect(sup.snapshot().counters).toMatchObject({ succeeded: 2, timedOut: 1 });
  });

  it('does not count the time a run waits for its thread to start up, in its timeout or its stall clock', async () => {
    const hold = join(tempDir(), 'hold');
    process.env.TROUPE_TEST_LOAD_HOLD = hold; // limits-slow-load.mjs holds the start-up of threads while it exists
    onTestFinished(() => void delete process.env.TROUPE_TEST_LOAD_HOLD);
    const clock = manualClock();
    const sup = await start({
      clock,
      pool: { minThreads: 1, maxThreads: 2, autoscaleIntervalMs: 20 },
      breaker: false,
      agents: {
        slow: { module: agentPath('limits-slow-load'), timeoutMs: 60_000, stallTimeoutMs: 1_000, ...once },
        gate: { module: agentPath('gate') },
      },
    });
    const g = gate();
    const busy = await sup.submit({ agent: 'gate', input: { gate: g.path } });
    await waitFor(() => onThread(sup, busy), 'the only thread busy');
    writeFileSync(hold, ''); // a thread that starts now stays in its start-up
    const late = await sup.submit({ agent: 'slow', input: 'late' });
    await waitFor(() => sup.snapshot().pool.threadIds.length === 2, 'a second thread starting for it');
    expect(sup.get(late)!.state).toBe('running'); // started and handed to the pool, but on no thread yet

    clock.advance(60_001); // a minute in the pool's queue, none of it on a thread
    rmSync(hold);
    await expect(sup.result(late)).resolves.toMatchObject({ input: 'late' });
    g.open();
    await sup.result(busy);
    expect(sup.snapshot().counters).toMatchObject({ timedOut: 0, stalled: 0, failed: 0, succeeded: 2 });
  });

  it("applies a task's own timeoutMs over its agent's, shorter or longer", async () => {
    const clock = manualClock();
    const agents = { gate: { module: agentPath('gate'), timeoutMs: 10_000, ...once } };
    const sup = await start({ clock, pool: { minThreads: 3, maxThreads: 3 }, breaker: false, agents });
    const g = gate();
    const plain = await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'plain' } });
    const longer = await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'longer' }, timeoutMs: 100_000 });
    const shorter = await sup.submit({ agent: 'gate', input: { gate: g.path, label: 'shorter' }, timeoutMs: 1_000 });
    await waitFor(() => [plain, longer, shorter].every((id) => onThread(sup, id)), 'all three on their threads');

    clock.advance(5_000);
    expect((await failure(sup, shorter)).cause).toMatchObject({ code: 'TROUPE_TASK_TIMEOUT' });
    expect(sup.get(plain)!.state).toBe('running');
    clock.advance(10_000);
    const err = await failure(sup, plain);
    expect(err.cause).toMatchObject({ code: 'TROUPE_TASK_TIMEOUT' });
    expect(err.cause.message).toContain('10000 ms');
    // Had it used the agent's 10 s, its timer would have fired with the others' (synchronously, in advance()).
    g.open();
    expect(await sup.result(longer)).toMatchObject({ label: 'longer' });
    expect(sup.get(longer)!.history).toBeUndefined();
    expect(sup.snapshot().counters).toMatchObject({ timedOut: 2, succeeded: 1 });
  });

  it('retries a timed-out run per the retry policy: each attempt times out, then the task is dead', async () => {
    const retry = { attempts: 2, backoff: { initialMs: 0 } };
    const sup = await start({ breaker: false, agents: { gate: { module: agentPath('gate'), timeoutMs: 300, retry } } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'gate', input: { gate: join(tempDir(), 'never') } });
    const err = await failure(sup, id);
    expect(err.cause).toMatchObject({ code: 'TROUPE_TASK_TIMEOUT' });
    const history = sup.get(id)!.history!;
    expect(history).toMatchObject([
      { attempt: 1, error: { code: 'TROUPE_TASK_TIMEOUT' } },
      { attempt: 2, error: { code: 'TROUPE_TASK_TIMEOUT' } },
    ]);
    for (const run of history) expect(run.durationMs).toBeGreaterThanOrEqual(300);
    expect(sup.get(id)).toMatchObject({ state: 'dead', attempt: 2, failures: 2 });
    expect(eventsOf(events, id, 'started').map((e) => e.attempt)).toEqual([1, 2]);
    expect(eventsOf(events, id, 'failed').map((e) => [e.attempt, e.dead, e.error.code])).toEqual([
      [1, false, 'TROUPE_TASK_TIMEOUT'],
      [2, true, 'TROUPE_TASK_TIMEOUT'],
    ]);
    expect(eventsOf(events, id, 'dead')).toHaveLength(1);
    expect(sup.snapshot().counters).toMatchObject({ timedOut: 2, failed: 2, retried: 1, dead: 1 });
  });
});

describe('timeouts of command agents', () => {
  it('SIGTERMs then SIGKILLs the group of a timed-out command: the command and its grandchild are gone', async () => {
    const dir = tempDir();
    // killGraceMs is real time (the SIGKILL's timer): long enough for a loaded machine to run the
    // fixtures' SIGTERM handlers, which note the signal in their term files.
    const limits = { timeoutMs: 1_500, killGraceMs: 1_000, ...once };
    const clock = manualClock();
    const sup = await start({ clock, pool: one, breaker: false, agents: { wait: cmd('wait', limits), spawner: cmd('spawner', limits) } });
    const events = record(sup);
    const termFile = join(dir, 'term');
    const waiter = await sup.submit({ agent: 'wait', input: { pidFile: join(dir, 'wait.pid'), trapTerm: true, termFile } });
    const grandTerm = join(dir, 'grandchild-term');
    const input = { pidFile: join(dir, 'spawner.pid'), termFile: grandTerm, grandchild: 'stubborn', leader: 'stay' };
    const spawner = await sup.submit({ agent: 'spawner', input });
    const { pid } = await readPids(join(dir, 'wait.pid'));
    const family = await readPids(join(dir, 'spawner.pid'));
    expect([pid, family.pid, family.grandchild!].every(isAlive)).toBe(true);

    // Both run, their pid files written (their start-up took what it took): now their 1.5 s pass.
    clock.advance(1_500);
    expect((await failure(sup, waiter)).cause).toMatchObject({ code: 'TROUPE_TASK_TIMEOUT' });
    expect(existsSync(termFile)).toBe(true); // asked first...
    await waitFor(() => !isAlive(pid), `command ${pid} gone`); // ...then killed
    expect(sup.get(waiter)!.history).toMatchObject([{ attempt: 1, pid, error: { code: 'TROUPE_TASK_TIMEOUT' } }]);
    const [started] = eventsOf(events, waiter, 'started');
    const [failed] = eventsOf(events, waiter, 'failed');
    expect(failed!.at - started!.at).toBeGreaterThanOrEqual(2_490); // it outlived SIGTERM by the grace period

    expect((await failure(sup, spawner)).cause).toMatchObject({ code: 'TROUPE_TASK_TIMEOUT' });
    await waitFor(() => !isAlive(family.pid) && !isAlive(family.grandchild!), 'command and grandchild gone');
    expect(existsSync(grandTerm)).toBe(true);
    expect(sup.snapshot().counters).toMatchObject({ timedOut: 2, dead: 2 });
  });
});

describe('stall detection', () => {
  it('stops a handler that blocks its event loop: one stalled event per run, then TROUPE_TASK_STALLED', async () => {
    const beats = new Int32Array(new SharedArrayBuffer(4));
    const stallTimeoutMs = 500;
    const clock = manualClock({ frozen: true });
    const spin = { module: agentPath('spin'), stallTimeoutMs, cancelGraceMs: 100, retry: { attempts: 2, backoff: { initialMs: 0 } } };
    const sup = await start({ clock, pool: pool2, breaker: false, agents: { spin } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'spin', input: { beats: beats.buffer } });
    for (const attempt of [1, 2]) {
      // In its loop: the run reported progress, and its counter moves (only the loop moves it). Its
      // retry is due at once, on the clock: advance(0) fires it without moving the clock.
      const before = Atomics.load(beats, 0);
      const inLoop = (): boolean => eventsOf(events, id, 'progress').length === attempt && Atomics.load(beats, 0) > before;
      await waitFor(() => (clock.advance(0), inLoop()), `run ${attempt} in its loop`);
      clock.advance(stallTimeoutMs); // no heartbeat since: stalled, and asked to stop, which it cannot hear
      clock.advance(100); // the grace period: its thread is terminated
      await waitFor(() => eventsOf(events, id, 'failed').length === attempt, `run ${attempt} failed`);
    }
    const err = await failure(sup, id);
    expect(err.cause).toMatchObject({ code: 'TROUPE_TASK_STALLED' });
    expect(sup.get(id)!.history).toMatchObject([
      { attempt: 1, error: { code: 'TROUPE_TASK_STALLED' } },
      { attempt: 2, error: { code: 'TROUPE_TASK_STALLED' } },
    ]);

    const mine = events.filter((e) => 'taskId' in e && e.taskId === id && e.type !== 'heartbeat' && e.type !== 'submitted');
    expect(mine.map((e) => e.type)).toEqual(['started', 'progress', 'stalled', 'failed', 'started', 'progress', 'stalled', 'failed', 'dead']);
    for (const attempt of [0, 1]) {
      const [started, progress, stalled, failed] = mine.slice(attempt * 4, attempt * 4 + 4) as [Of<'started'>, Of<'progress'>, Of<'stalled'>, Of<'failed'>];
      expect(stalled.silentMs).toBeGreaterThanOrEqual(stallTimeoutMs);
      expect(stalled.at - started.at).toBeGreaterThanOrEqual(stallTimeoutMs);
      // The loop starts 20 ms after the progress message; no sign of life can come later.
      expect(stalled.at).toBeLessThanOrEqual(progress.at + 20 + stallTimeoutMs + 1_000);
      expect(failed.error.code).toBe('TROUPE_TASK_STALLED');
      const { threadId } = progress.value as { threadId: number };
      await waitFor(() => !sup.snapshot().pool.threadIds.includes(threadId), `stalled thread ${threadId} gone`);
    }
    await stopsGrowing(beats, 'the stalled handler');
    expect(sup.snapshot().counters).toMatchObject({ stalled: 2, failed: 2, retried: 1, dead: 1, timedOut: 0 });
  });

  it('does not stall a hanging handler whose event loop turns (automatic heartbeats); its own timeoutMs ends it for good', async () => {
    const beats = new Int32Array(new SharedArrayBuffer(4));
    const clock = manualClock({ frozen: true });
    const hang = { module: agentPath('hang'), stallTimeoutMs: 2_000, cancelGraceMs: 100, ...once };
    const sup = await start({ clock, pool: pool2, breaker: false, agents: { hang } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'hang', input: { beats: beats.buffer }, timeoutMs: 3_000 });
    // A second of the clock at a time, each after a heartbeat that came after the step before (they are
    // published a second of the clock apart at most): past its 2 s stall timeout, up to its 3 s timeout.
    for (let step = 1; step <= 3; step += 1) {
      await waitFor(() => eventsOf(events, id, 'heartbeat').length === step, `heartbeat ${step}`);
      clock.advance(1_000);
    }
    clock.advance(100); // timed out, it ignores its signal: after the grace period its thread is terminated
    const err = await failure(sup, id);
    expect(err.cause).toMatchObject({ code: 'TROUPE_TASK_TIMEOUT' });
    expect(err.cause.message).toContain('3000 ms');
    expect(eventsOf(events, id, 'stalled')).toEqual([]);
    expect(eventsOf(events, id, 'heartbeat')).toHaveLength(3);
    expect(Atomics.load(beats, 0)).toBeGreaterThan(0); // it did run
    expect(sup.snapshot().counters).toMatchObject({ stalled: 0, timedOut: 1, dead: 1 });
    // It ignored its signal: its thread was terminated, and nothing of it runs any more.
    const { threadId } = sup.get(id)!.progress as { threadId: number };
    await waitFor(() => !sup.snapshot().pool.threadIds.includes(threadId), 'hung thread gone from the pool');
    const frozen = await stopsGrowing(beats, 'the hung handler');
    await sleep(200);
    expect(Atomics.load(beats, 0)).toBe(frozen);
    await waitFor(() => new Set(sup.snapshot().pool.threadIds).size === 2, 'pool back to two threads');
  });

  it('stalls a silent command and kills it', async () => {
    const dir = tempDir();
    const clock = manualClock();
    const sup = await start({ clock, pool: one, breaker: false, agents: { wait: cmd('wait', { stallTimeoutMs: 500, killGraceMs: 200, ...once }) } });
    const events = record(sup);
    const id = await sup.submit({ agent: 'wait', input: { pidFile: join(dir, 'pid'), trapTerm: true } });
    const { pid } = await readPids(join(dir, 'pid'));
    clock.advance(500); // it runs and says nothing: stalled
    const err = await failure(sup, id);
    expect(err.cause).toMatchObject({ code: 'TROUPE_TASK_STALLED' });
    const stalled = eventsOf(events, id, 'stalled');
    expect(stalled).toHaveLength(1);
    expect(stalled[0]!.silentMs).toBeGreaterThanOrEqual(500);
    await waitFor(() => !isAlive(pid), `stalled command ${pid} gone`);
    expect(sup.snapshot().counters).toMatchObject({ stalled: 1, timedOut: 0, dead: 1 });
  });

  it('keeps a command alive while it prints ::heartbeat, and stalls it stallTimeoutMs after it goes quiet', async () => {
    const dir = tempDir();
    // 2 s: heartbeat events are published a second of the clock apart at most, and the steps below
    // (one second each) must each see one without reaching the stall timeout.
    const stallTimeoutMs = 2_000;
    const clock = manualClock({ frozen: true });
    const sup = await start({ clock, pool: one, breaker: false, agents: { beater: cmd('limits-beater', { stallTimeoutMs, killGraceMs: 200, ...once }) } });
    const events = record(sup);
    // Beats until its gate opens; each second of the clock passes after a heartbeat that came after
    // the second before. Four seconds, twice its stall timeout: no stall.
    const g = gate();
    const steady = await sup.submit({ agent: 'beater', input: { everyMs: 20, gate: g.path, then: 'exit' } });
    for (let step = 1; step <= 4; step += 1) {
      await waitFor(() => eventsOf(events, steady, 'heartbeat').length === step, `heartbeat ${step}`);
      clock.advance(stallTimeoutMs / 2);
    }
    g.open();
    const { beats } = await sup.result<{ beats: number }>(steady);
    expect(beats).toBeGreaterThanOrEqual(4);
    expect(eventsOf(events, steady, 'stalled')).toEqual([]);
    expect(eventsOf(events, steady, 'log')).toEqual([]); // ::heartbeat is protocol, not a log line

    const quiet = await sup.submit({ agent: 'beater', input: { everyMs: 20, beats: 5, then: 'silent', pidFile: join(dir, 'pid') } });
    const { pid } = await readPids(join(dir, 'pid'));
    await waitFor(() => eventsOf(events, quiet, 'progress').length === 1, 'its last word');
    clock.advance(stallTimeoutMs - 1);
    // The bus delivers on a setImmediate scheduled at publish (no journal): a stall would be in by now.
    await new Promise((r) => setImmediate(r));
    expect(eventsOf(events, quiet, 'stalled')).toEqual([]);
    clock.advance(1);
    expect((await failure(sup, quiet)).cause).toMatchObject({ code: 'TROUPE_TASK_STALLED' });
    const [lastWord] = eventsOf(events, quiet, 'progress');
    const stalled = eventsOf(events, quiet, 'stalled');
    expect(lastWord!.value).toBe('silent');
    expect(stalled).toHaveLength(1);
    // To the millisecond of the clock: stallTimeoutMs after its last sign of life.
    expect(stalled[0]!.at - lastWord!.at).toBe(stallTimeoutMs);
    expect(stalled[0]!.silentMs).toBe(stallTimeoutMs);
    await waitFor(() => !isAlive(pid), `stalled command ${pid} gone`);
  });
});

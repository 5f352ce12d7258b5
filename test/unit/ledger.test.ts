import { describe, expect, it } from 'vitest';
import { Ledger } from '../../dist/engine/ledger.js';
import type { Message, RunPlace } from '../../dist/core/messages.js';
import type { BreakerRecord } from '../../dist/actors/breaker/breaker-logic.js';
import type { TaskRecord, TaskState } from '../../dist/core/task.js';

const STATES: readonly TaskState[] = ['blocked', 'queued', 'delayed', 'running', 'succeeded', 'dead', 'cancelled'];
const ERROR = { name: 'Error', message: 'boom' };
const ERROR2 = { name: 'TypeError', message: 'bang' };

function record(id: string, over: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id,
    seq: 1,
    agent: 'echo',
    kind: 'module',
    priority: 'normal',
    resources: [],
    input: null,
    state: 'queued',
    attempt: 0,
    submittedAt: 10,
    ...over,
  };
}

const submitted = (task: TaskRecord): Message => ({ type: 'task.submitted', task, at: task.submittedAt });
// Leases are `incarnation:attempt`; these helpers use incarnation 1 and the attempt given.
const lease = (attempt = 1): string => `1:${attempt}`;
const started = (taskId: string, attempt = 1, at = 20): Message => ({ type: 'task.started', taskId, attempt, lease: lease(attempt), at });
const progress = (taskId: string, value: unknown = 0.5, checkpoint = false): Message => ({
  type: 'task.progress', taskId, lease: lease(), value, checkpoint, at: 25,
});
const log = (taskId: string): Message => ({ type: 'task.log', taskId, message: 'hi', at: 25 });
const heartbeat = (taskId: string): Message => ({ type: 'task.heartbeat', taskId, at: 25 });
const stalled = (taskId: string): Message => ({ type: 'task.stalled', taskId, silentMs: 5_000, at: 26 });
const succeeded = (taskId: string, result: unknown = 'ok', at = 30, attempt = 1): Message => ({
  type: 'task.succeeded', taskId, lease: lease(attempt), result, at,
});

interface FailOpts {
  at?: number;
  /** Omitted: the task is dead. Later than `at`: delayed. At or before `at`: queued at once. */
  retryAt?: number;
  counts?: boolean;
  attempt?: number;
  launchedAt?: number;
  place?: RunPlace;
  error?: { name: string; message: string };
}
const failed = (taskId: string, o: FailOpts = {}): Message => ({
  type: 'task.failed',
  taskId,
  lease: lease(o.attempt ?? 1),
  error: o.error ?? ERROR,
  at: o.at ?? 30,
  ...(o.retryAt === undefined ? {} : { retryAt: o.retryAt }),
  counts: o.counts ?? true,
  launchedAt: o.launchedAt ?? 18,
  place: o.place ?? { threadId: 3 },
});
/** A failed run that leaves the task dead (no retry). */
const died = (taskId: string, at = 30, attempt = 1): Message => failed(taskId, { at, attempt });
/** A failed run that waits out a backoff until `retryAt` (after `at`). */
const backedOff = (taskId: string, retryAt = 100, attempt = 1): Message => failed(taskId, { at: 30, retryAt, attempt });
/** A failed run whose retry is due already: straight back to the queue. */
const retryNow = (taskId: string, attempt = 1): Message => failed(taskId, { at: 30, retryAt: 30, attempt });
const due = (taskId: string, at = 100): Message => ({ type: 'task.due', taskId, at });
const unblocked = (taskId: string, at = 40): Message => ({ type: 'task.unblocked', taskId, at });
const exhausted = (taskId: string, at = 45): Message => ({ type: 'task.exhausted', taskId, error: ERROR2, at });
const redriven = (taskId: string, at = 50, input?: { value: unknown }): Message =>
  input === undefined ? { type: 'task.redriven', taskId, at } : { type: 'task.redriven', taskId, at, input };
const cancelled = (taskId: string, reason = 'stop', at = 30): Message => ({ type: 'task.cancelled', taskId, reason, at });
const requeued = (taskId: string, at = 28): Message => ({ type: 'task.requeued', taskId, reason: 'lost', at });

const breaker = (state: BreakerRecord['state'], openedAt: number | null = null): BreakerRecord => ({
  state, forced: false, openedAt, resetTimeoutMs: 30_000,
});
const breakerChanged = (key: string, rec: BreakerRecord, at = 60): Message => ({
  type: 'breaker.changed', key, state: rec.state, record: rec, at,
});

/** How a task `t` is brought to each state through allowed transitions. */
const PATHS: Record<TaskState, Message[]> = {
  blocked: [], // submitted blocked, on a parent that is not there
  queued: [],
  delayed: [started('t'), backedOff('t')],
  running: [started('t')],
  succeeded: [started('t'), succeeded('t')],
  dead: [started('t'), died('t')],
  cancelled: [cancelled('t')],
};

/** A ledger holding one task `t` brought to `state` through allowed transitions. */
function ledgerWith(state: TaskState, over: Partial<TaskRecord> = {}): Ledger {
  const l = new Ledger();
  const blocked: Partial<TaskRecord> = state === 'blocked' ? { state: 'blocked', dependsOn: ['p'] } : {};
  expect(l.apply(submitted(record('t', { ...blocked, ...over })))).toBe(true);
  for (const msg of PATHS[state]) expect(l.apply(msg)).toBe(true);
  expect(l.get('t')?.state).toBe(state);
  return l;
}

/** A deep copy of a record as it is now (the ledger changes records in place). */
const snapshot = (l: Ledger, id = 't'): TaskRecord => structuredClone(l.get(id)!);

function counts(l: Ledger): Record<TaskState, number> {
  return Object.fromEntries(STATES.map((s) => [s, l.count(s)])) as Record<TaskState, number>;
}

function only(state: TaskState, n = 1): Record<TaskState, number> {
  return { blocked: 0, queued: 0, delayed: 0, running: 0, succeeded: 0, dead: 0, cancelled: 0, [state]: n };
}

// The full transition table: which message is accepted in which state, and the state after it.
const makers: Record<string, (id: string) => Message> = {
  started: (id) => started(id),
  progress: (id) => progress(id),
  log,
  heartbeat,
  stalled,
  succeeded: (id) => succeeded(id),
  'failed (no retry)': (id) => died(id),
  'failed (retry later)': (id) => backedOff(id),
  'failed (retry due)': (id) => retryNow(id),
  due: (id) => due(id),
  unblocked: (id) => unblocked(id),
  exhausted: (id) => exhausted(id),
  redriven: (id) => redriven(id),
  cancelled: (id) => cancelled(id),
  requeued: (id) => requeued(id),
};
const allowed: Record<string, Partial<Record<TaskState, TaskState>>> = {
  started: { queued: 'running' },
  progress: { running: 'running' },
  log: { running: 'running' },
  heartbeat: { running: 'running' },
  stalled: { running: 'running' },
  // A run's outcome needs a run; a cancellation may come before any.
  succeeded: { running: 'succeeded' },
  'failed (no retry)': { running: 'dead' },
  'failed (retry later)': { running: 'delayed' },
  'failed (retry due)': { running: 'queued' },
  due: { delayed: 'queued' },
  unblocked: { blocked: 'queued' },
  // Dead without running: the start cap, or a failed parent.
  exhausted: { queued: 'dead', blocked: 'dead' },
  redriven: { dead: 'queued' },
  cancelled: { blocked: 'cancelled', queued: 'cancelled', delayed: 'cancelled', running: 'cancelled' },
  requeued: { running: 'queued' },
};
const table = Object.keys(makers).flatMap((name) =>
  STATES.map((from) => {
    const to = allowed[name]![from];
    return { name, from, ok: to !== undefined, to: to ?? from };
  }),
);

describe('Ledger: transition table', () => {
  it('covers every message in every state', () => {
    expect(Object.keys(allowed).sort()).toEqual(Object.keys(makers).sort());
    expect(table.length).toBe(Object.keys(makers).length * STATES.length);
  });

  it.each(table)('$name from $from: accepted $ok, then $to', ({ name, from, ok, to }) => {
    const l = ledgerWith(from);
    const before = snapshot(l);
    expect(l.apply(makers[name]!('t'))).toBe(ok);
    expect(l.get('t')!.state).toBe(to);
    expect(counts(l)).toEqual(only(to));
    expect(l.queuedByPriority()).toEqual({ critical: 0, high: 0, normal: to === 'queued' ? 1 : 0, low: 0 });
    if (!ok) expect(l.get('t')).toEqual(before); // a refused message changes nothing
  });

  it.each(Object.keys(makers))('%s for an unknown task is refused', (name) => {
    const l = new Ledger();
    expect(l.apply(makers[name]!('ghost'))).toBe(false);
    expect(l.get('ghost')).toBeUndefined();
    expect(counts(l)).toEqual(only('queued', 0));
  });

  it.each(['failed (no retry)', 'failed (retry later)', 'failed (retry due)'])(
    '%s carrying the lease of another run is refused',
    (name) => {
      const l = ledgerWith('running');
      const before = snapshot(l);
      const msg = makers[name]!('t');
      expect(l.apply({ ...msg, lease: lease(2) } as Message)).toBe(false);
      expect(l.get('t')).toEqual(before);
      expect(counts(l)).toEqual(only('running'));
    },
  );
});

describe('Ledger: submission', () => {
  it('records a submitted task and counts it in its state', () => {
    const l = new Ledger();
    const t = record('a');
    expect(l.apply(submitted(t))).toBe(true);
    expect(l.get('a')).toBe(t);
    expect(counts(l)).toEqual(only('queued'));
  });

  it('refuses a second submission of the same id and keeps the first record', () => {
    const l = new Ledger();
    const first = record('a', { input: 1 });
    l.apply(submitted(first));
    l.apply(started('a'));
    expect(l.apply(submitted(record('a', { input: 2 })))).toBe(false);
    expect(l.get('a')).toBe(first);
    expect(l.get('a')!.state).toBe('running');
    expect(counts(l)).toEqual(only('running'));
  });

  it('passes on messages that change no task state', () => {
    const l = new Ledger();
    const others: Message[] = [
      { type: 'task.dispatch', tasks: [{ taskId: 'nobody', attempt: 1 }], at: 0 },
      { type: 'task.cancel', taskId: 'nobody', reason: 'x', at: 0 },
      { type: 'agent.credit', kind: 'module', n: 2 },
      { type: 'queue.reset' },
      { type: 'supervisor.draining', at: 0 },
    ];
    for (const msg of others) expect(l.apply(msg)).toBe(true);
    expect(counts(l)).toEqual(only('queued', 0));
  });
});

describe('Ledger: what transitions record', () => {
  it('started sets attempt and startedAt, and counts the start', () => {
    const l = ledgerWith('queued');
    l.apply(started('t', 1, 123));
    expect(l.get('t')).toMatchObject({ state: 'running', attempt: 1, startedAt: 123, starts: 1, lease: lease(1) });
    l.apply(requeued('t'));
    l.apply(started('t', 2, 130));
    expect(l.get('t')).toMatchObject({ state: 'running', attempt: 2, startedAt: 130, starts: 2, lease: lease(2) });
  });

  it('progress records the latest value', () => {
    const l = ledgerWith('running');
    l.apply(progress('t', 0.25));
    l.apply(progress('t', { done: 3 }));
    expect(l.get('t')!.progress).toEqual({ done: 3 });
  });

  it('succeeded records result and finishedAt', () => {
    const l = ledgerWith('running');
    l.apply(succeeded('t', { n: 1 }, 99));
    expect(l.get('t')).toMatchObject({ state: 'succeeded', result: { n: 1 }, finishedAt: 99 });
  });

  it('failed without a retry: dead, with error, finishedAt, one history entry and one failure', () => {
    const l = ledgerWith('running');
    expect(l.apply(failed('t', { at: 77, launchedAt: 21, place: { threadId: 4 } }))).toBe(true);
    const t = l.get('t')!;
    expect(t).toMatchObject({ state: 'dead', error: ERROR, finishedAt: 77, failures: 1, attempt: 1, starts: 1 });
    expect(t.retryAt).toBeUndefined();
    expect(t.history).toEqual([{ attempt: 1, startedAt: 21, endedAt: 77, durationMs: 56, error: ERROR, threadId: 4 }]);
  });

  it('failed without a retry clears the lease and startedAt of the run, as every failure does', () => {
    const l = ledgerWith('running');
    l.apply(died('t', 77));
    expect(l.get('t')!.state).toBe('dead');
    expect(l.get('t')!.lease).toBeUndefined();
    expect(l.get('t')!.startedAt).toBeUndefined();
  });

  it('failed with a later retryAt: delayed until then, lease and startedAt cleared, not finished', () => {
    const l = ledgerWith('running');
    expect(l.apply(failed('t', { at: 40, retryAt: 90, launchedAt: 19, place: { pid: 4242 } }))).toBe(true);
    const t = l.get('t')!;
    expect(t).toMatchObject({ state: 'delayed', retryAt: 90, error: ERROR, failures: 1, attempt: 1 });
    expect(t.lease).toBeUndefined();
    expect(t.startedAt).toBeUndefined();
    expect(t.finishedAt).toBeUndefined();
    expect(t.history).toEqual([{ attempt: 1, startedAt: 19, endedAt: 40, durationMs: 21, error: ERROR, pid: 4242 }]);
  });

  it.each([
    { retryAt: 40, what: 'equal to' },
    { retryAt: 10, what: 'before' },
  ])('failed with retryAt $what its time: queued at once, without retryAt', ({ retryAt }) => {
    const l = ledgerWith('running');
    expect(l.apply(failed('t', { at: 40, retryAt, launchedAt: 20 }))).toBe(true);
    const t = l.get('t')!;
    expect(t).toMatchObject({ state: 'queued', error: ERROR, failures: 1 });
    expect(t.retryAt).toBeUndefined();
    expect(t.lease).toBeUndefined();
    expect(t.startedAt).toBeUndefined();
    expect(t.finishedAt).toBeUndefined();
    expect(t.history).toEqual([{ attempt: 1, startedAt: 20, endedAt: 40, durationMs: 20, error: ERROR, threadId: 3 }]);
    expect(counts(l)).toEqual(only('queued'));
  });

  it('a failure that does not count leaves failures alone; one that counts adds one', () => {
    const l = ledgerWith('running');
    l.apply(failed('t', { retryAt: 30, counts: false }));
    expect(l.get('t')!.failures ?? 0).toBe(0);
    expect(l.get('t')!.history).toHaveLength(1); // still recorded as a run that did not succeed
    l.apply(started('t', 2));
    l.apply(failed('t', { retryAt: 30, attempt: 2, counts: true }));
    expect(l.get('t')!.failures).toBe(1);
    l.apply(started('t', 3));
    l.apply(failed('t', { retryAt: 30, attempt: 3, counts: false }));
    expect(l.get('t')!.failures).toBe(1);
    l.apply(started('t', 4));
    l.apply(failed('t', { attempt: 4, counts: true }));
    expect(l.get('t')).toMatchObject({ state: 'dead', failures: 2, starts: 4 });
  });

  it('history keeps every run that did not succeed, oldest first; the last error is the error', () => {
    const l = ledgerWith('queued');
    l.apply(started('t', 1, 20));
    l.apply(failed('t', { at: 25, retryAt: 60, launchedAt: 20, place: { threadId: 1 } }));
    l.apply(due('t', 60));
    l.apply(started('t', 2, 61));
    l.apply(requeued('t', 70));
    l.apply(started('t', 3, 80));
    l.apply(failed('t', { at: 95, attempt: 3, launchedAt: 81, place: { pid: 7 }, error: ERROR2 }));
    const t = l.get('t')!;
    expect(t).toMatchObject({ state: 'dead', error: ERROR2, failures: 2, starts: 3, attempt: 3 });
    expect(t.history).toEqual([
      { attempt: 1, startedAt: 20, endedAt: 25, durationMs: 5, error: ERROR, threadId: 1 },
      { attempt: 2, startedAt: 61, endedAt: 70, durationMs: 9, interrupted: 'lost' },
      { attempt: 3, startedAt: 81, endedAt: 95, durationMs: 14, error: ERROR2, pid: 7 },
    ]);
  });

  it('due: a delayed task goes back to the queue and forgets retryAt', () => {
    const l = ledgerWith('delayed');
    expect(l.get('t')!.retryAt).toBe(100);
    expect(l.apply(due('t', 100))).toBe(true);
    expect(l.get('t')!.state).toBe('queued');
    expect(l.get('t')!.retryAt).toBeUndefined();
    expect(l.get('t')!.finishedAt).toBeUndefined();
    expect(l.apply(started('t', 2))).toBe(true); // and runs again with the next attempt
    expect(l.get('t')).toMatchObject({ state: 'running', attempt: 2, starts: 2 });
  });

  it('exhausted: a queued task is dead, with the error and finishedAt', () => {
    const l = ledgerWith('running');
    l.apply(retryNow('t'));
    expect(l.apply(exhausted('t', 45))).toBe(true);
    const t = l.get('t')!;
    expect(t).toMatchObject({ state: 'dead', error: ERROR2, finishedAt: 45, failures: 1 });
    expect(t.history).toHaveLength(1);
  });

  it('redriven: dead → queued with fresh failures and starts; history and attempt kept', () => {
    const l = ledgerWith('dead');
    const before = snapshot(l);
    expect(l.apply(redriven('t', 50))).toBe(true);
    const t = l.get('t')!;
    expect(t.state).toBe('queued');
    expect(t.failures).toBe(0);
    expect(t.starts).toBe(0);
    expect(t.finishedAt).toBeUndefined();
    expect(t.attempt).toBe(1); // attempts never go back: they fence leases
    expect(t.history).toEqual(before.history);
    expect(t.input).toBeNull(); // no new input: kept
    expect(counts(l)).toEqual(only('queued'));
    // It runs again as attempt 2, its first start since the redrive.
    expect(l.apply(started('t', 2, 60))).toBe(true);
    expect(l.get('t')).toMatchObject({ state: 'running', attempt: 2, starts: 1, lease: lease(2) });
    expect(l.apply(died('t', 70, 2))).toBe(true);
    expect(l.get('t')).toMatchObject({ state: 'dead', failures: 1, finishedAt: 70 });
    expect(l.get('t')!.history).toHaveLength(2);
  });

  it('a redriven task waits in the queue without the lease or startedAt of its last run', () => {
    const l = ledgerWith('dead');
    l.apply(redriven('t'));
    expect(l.get('t')!.state).toBe('queued');
    expect(l.get('t')!.lease).toBeUndefined();
    expect(l.get('t')!.startedAt).toBeUndefined();
  });

  it('redriven with input replaces the input (also by undefined)', () => {
    const l = ledgerWith('dead', { input: { n: 1 } });
    expect(l.apply(redriven('t', 50, { value: { n: 2 } }))).toBe(true);
    expect(l.get('t')!.input).toEqual({ n: 2 });
    l.apply(started('t', 2));
    l.apply(died('t', 60, 2));
    expect(l.apply(redriven('t', 61, { value: undefined }))).toBe(true);
    expect(l.get('t')!.input).toBeUndefined();
  });

  it('redriven is refused for a task that was not dead, and changes nothing', () => {
    for (const state of STATES.filter((s) => s !== 'dead')) {
      const l = ledgerWith(state, { input: 'old' });
      const before = snapshot(l);
      expect(l.apply(redriven('t', 50, { value: 'new' })), state).toBe(false);
      expect(l.get('t'), state).toEqual(before);
      expect(l.get('t')!.input, state).toBe('old');
    }
  });

  it('cancelled records the reason and finishedAt, also for a queued task', () => {
    const l = ledgerWith('queued');
    l.apply(cancelled('t', 'user', 55));
    expect(l.get('t')).toMatchObject({ state: 'cancelled', cancelReason: 'user', finishedAt: 55 });
    expect(l.get('t')!.startedAt).toBeUndefined();
  });

  it('cancelled ends a delayed task: no retry remains', () => {
    const l = ledgerWith('delayed');
    expect(l.apply(cancelled('t', 'user', 56))).toBe(true);
    const t = l.get('t')!;
    expect(t).toMatchObject({ state: 'cancelled', cancelReason: 'user', finishedAt: 56, error: ERROR });
    expect(t.retryAt).toBeUndefined();
    expect(l.apply(due('t'))).toBe(false); // the backoff timer firing late changes nothing
    expect(l.get('t')!.state).toBe('cancelled');
  });

  it('exactly one outcome: a second one is refused and does not overwrite the first', () => {
    const l = ledgerWith('running');
    expect(l.apply(succeeded('t', 'first', 40))).toBe(true);
    expect(l.apply(died('t', 41))).toBe(false);
    expect(l.apply(backedOff('t'))).toBe(false);
    expect(l.apply(cancelled('t', 'late', 42))).toBe(false);
    expect(l.apply(succeeded('t', 'second', 43))).toBe(false);
    expect(l.apply(redriven('t', 44))).toBe(false);
    const t = l.get('t')!;
    expect(t).toMatchObject({ state: 'succeeded', result: 'first', finishedAt: 40 });
    expect(t.error).toBeUndefined();
    expect(t.cancelReason).toBeUndefined();
    expect(counts(l)).toEqual(only('succeeded'));
  });

  it('a dead task takes no other outcome and no late exhaustion', () => {
    const l = ledgerWith('dead');
    const before = snapshot(l);
    for (const msg of [succeeded('t'), died('t', 50), cancelled('t'), exhausted('t', 51), due('t')]) {
      expect(l.apply(msg)).toBe(false);
    }
    expect(l.get('t')).toEqual(before);
  });
});

describe('Ledger: breakers', () => {
  it('breaker.changed records the breaker by key; the newest record wins', () => {
    const l = new Ledger();
    expect(l.breakerRecords().size).toBe(0);
    expect(l.apply(breakerChanged('agent:a', breaker('open', 100)))).toBe(true);
    expect(l.apply(breakerChanged('resource:db', breaker('half-open', 90)))).toBe(true);
    expect(l.breakerRecords().get('agent:a')).toEqual(breaker('open', 100));
    l.apply(breakerChanged('agent:a', breaker('closed')));
    expect(new Map(l.breakerRecords())).toEqual(
      new Map([['agent:a', breaker('closed')], ['resource:db', breaker('half-open', 90)]]),
    );
    expect(counts(l)).toEqual(only('queued', 0)); // no task involved
  });
});

describe('Ledger: requeue', () => {
  it('running → queued drops startedAt and keeps the attempt; the next start counts up', () => {
    const l = ledgerWith('queued');
    l.apply(started('t', 1, 20));
    expect(l.apply(requeued('t'))).toBe(true);
    const t = l.get('t')!;
    expect(t.state).toBe('queued');
    expect(t.startedAt).toBeUndefined();
    expect(t.attempt).toBe(1);
    expect(counts(l)).toEqual(only('queued'));
    expect(l.apply(started('t', 2, 50))).toBe(true);
    expect(l.get('t')).toMatchObject({ state: 'running', attempt: 2, startedAt: 50 });
    expect(l.apply(succeeded('t', 'ok', 60, 2))).toBe(true); // with the second run's lease
    expect(counts(l)).toEqual(only('succeeded'));
  });

  it('records the interrupted run in the history, without counting a failure', () => {
    const l = ledgerWith('queued');
    l.apply(started('t', 1, 20));
    l.apply(requeued('t', 28));
    const t = l.get('t')!;
    expect(t.history).toEqual([{ attempt: 1, startedAt: 20, endedAt: 28, durationMs: 8, interrupted: 'lost' }]);
    expect(t.failures ?? 0).toBe(0);
    expect(t.error).toBeUndefined();
    expect(t.lease).toBeUndefined();
  });

  it('a requeued task may be cancelled while queued again', () => {
    const l = ledgerWith('running');
    l.apply(requeued('t'));
    expect(l.apply(cancelled('t'))).toBe(true);
    expect(counts(l)).toEqual(only('cancelled'));
  });

  it('a late outcome of the lost run is refused while the task waits to run again', () => {
    const l = ledgerWith('running');
    l.apply(requeued('t'));
    expect(l.apply(succeeded('t', 'stale'))).toBe(false);
    expect(l.apply(died('t'))).toBe(false);
    expect(l.apply(backedOff('t'))).toBe(false);
    expect(l.get('t')!.state).toBe('queued');
    expect(l.get('t')!.result).toBeUndefined();
    expect(l.get('t')!.error).toBeUndefined();
    expect(l.get('t')!.history).toHaveLength(1);
  });
});

describe('Ledger: counts and views over many tasks', () => {
  it('counts by state and lists tasks in a state', () => {
    const l = new Ledger();
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) l.apply(submitted(record(id)));
    l.apply(started('a'));
    l.apply(started('b'));
    l.apply(started('c'));
    l.apply(started('f'));
    l.apply(succeeded('a'));
    l.apply(died('b'));
    l.apply(cancelled('d'));
    l.apply(backedOff('f'));
    l.apply(exhausted('g'));
    expect(counts(l)).toEqual({ blocked: 0, queued: 1, delayed: 1, running: 1, succeeded: 1, dead: 2, cancelled: 1 });
    expect([...l.inState('running')].map((t) => t.id)).toEqual(['c']);
    expect([...l.inState('queued')].map((t) => t.id)).toEqual(['e']);
    expect([...l.inState('cancelled')].map((t) => t.id)).toEqual(['d']);
    expect([...l.inState('delayed')].map((t) => t.id)).toEqual(['f']);
    expect([...l.inState('dead')].map((t) => t.id).sort()).toEqual(['b', 'g']);
  });

  it('counts always add up to the number of tasks and match inState()', () => {
    const l = new Ledger();
    const ids = Array.from({ length: 14 }, (_, i) => `t${i}`);
    ids.forEach((id) => l.apply(submitted(record(id))));
    // A fixed, messy sequence including refused messages.
    const msgs: Message[] = [
      started('t0'), started('t0'), succeeded('t0'), died('t0'),
      started('t1'), requeued('t1'), requeued('t1'), started('t1', 2), cancelled('t1'),
      cancelled('t2'), started('t2'), progress('t2'),
      started('t3'), progress('t3'), died('t3'), succeeded('t3'),
      started('t4'), requeued('t4'),
      started('t5'),
      succeeded('t6'), died('t6'),
      started('t7'), backedOff('t7'), due('t7'), due('t7'), started('t7', 2), retryNow('t7', 2), exhausted('t7'),
      redriven('t7'), redriven('t7'), started('t7', 3), backedOff('t7', 100, 3), cancelled('t7'), redriven('t7'),
      started('t8'), backedOff('t8'), exhausted('t8'), started('t8', 2),
      started('t9'), died('t9'), redriven('t9', 50, { value: 'x' }), exhausted('t9'), redriven('t9'),
      exhausted('t10'), due('t10'), redriven('t10'), started('t10', 1), stalled('t10'), retryNow('t10'),
      stalled('t11'), due('t11'),
    ];
    for (const m of msgs) {
      l.apply(m);
      const total = STATES.reduce((n, s) => n + l.count(s), 0);
      expect(total).toBe(ids.length);
      for (const s of STATES) expect(l.count(s)).toBe([...l.inState(s)].length);
      expect(Object.values(l.queuedByPriority()).reduce((a, b) => a + b, 0)).toBe(l.count('queued'));
    }
    expect(counts(l)).toEqual({ blocked: 0, queued: 7, delayed: 1, running: 1, succeeded: 1, dead: 1, cancelled: 3 });
    expect([...l.inState('queued')].map((t) => t.id)).toEqual(['t4', 't6', 't9', 't10', 't11', 't12', 't13']);
    expect([...l.inState('delayed')].map((t) => t.id)).toEqual(['t8']);
    expect([...l.inState('dead')].map((t) => t.id)).toEqual(['t3']);
    expect([...l.inState('cancelled')].map((t) => t.id)).toEqual(['t1', 't2', 't7']);
    expect(l.get('t9')!.input).toBe('x');
  });

  it('queued counts per priority follow retries, exhaustion and redrives', () => {
    const l = new Ledger();
    l.apply(submitted(record('h', { priority: 'high' })));
    l.apply(submitted(record('c', { priority: 'critical', seq: 2 })));
    const q = (): Record<string, number> => l.queuedByPriority();
    expect(q()).toEqual({ critical: 1, high: 1, normal: 0, low: 0 });
    l.apply(started('h'));
    expect(q()).toEqual({ critical: 1, high: 0, normal: 0, low: 0 });
    l.apply(backedOff('h'));
    expect(q()).toEqual({ critical: 1, high: 0, normal: 0, low: 0 });
    l.apply(due('h'));
    expect(q()).toEqual({ critical: 1, high: 1, normal: 0, low: 0 });
    l.apply(exhausted('h'));
    expect(q()).toEqual({ critical: 1, high: 0, normal: 0, low: 0 });
    l.apply(redriven('h'));
    expect(q()).toEqual({ critical: 1, high: 1, normal: 0, low: 0 });
    l.apply(started('c'));
    l.apply(retryNow('c'));
    expect(q()).toEqual({ critical: 1, high: 1, normal: 0, low: 0 });
  });
});

describe('fencing, rollback, keys and retention', () => {
  it('refuses an outcome or progress carrying the lease of another run', () => {
    const l = new Ledger();
    l.apply(submitted(record('t')));
    l.apply(started('t', 1));
    l.apply(requeued('t'));
    expect(l.apply(started('t', 2))).toBe(true);
    expect(l.apply(succeeded('t', 'stale', 30, 1))).toBe(false); // the lost first run reports late
    expect(l.apply({ type: 'task.progress', taskId: 't', lease: '1:1', value: 1, checkpoint: true, at: 31 })).toBe(false);
    expect(l.apply(died('t', 31, 1))).toBe(false);
    expect(l.get('t')).toMatchObject({ state: 'running', attempt: 2, lease: '1:2' });
    expect(l.apply(succeeded('t', 'fresh', 32, 2))).toBe(true);
    expect(l.get('t')).toMatchObject({ state: 'succeeded', result: 'fresh' });
  });

  it('keeps a checkpoint only when progress is marked as one', () => {
    const l = ledgerWith('running');
    l.apply(progress('t', { step: 1 }, true));
    l.apply(progress('t', { step: 2 }, false));
    expect(l.get('t')).toMatchObject({ progress: { step: 2 }, checkpoint: { step: 1 } });
  });

  it('rolls back every change of a batch, newest first, counts included', () => {
    const l = ledgerWith('running');
    const before = { ...l.get('t') };
    l.begin();
    l.apply(progress('t', 'p'));
    l.apply(succeeded('t'));
    l.apply(submitted(record('u', { seq: 2, key: 'k' })));
    l.rollback();
    expect(l.get('t')).toEqual(before);
    expect(l.get('u')).toBeUndefined();
    expect(l.idForKey('k')).toBeUndefined();
    expect(counts(l)).toEqual(only('running'));
  });

  // One accepted transition per row, from the state it needs; rollback puts everything back.
  const rollbacks: { name: string; from: TaskState; msg: Message }[] = [
    { name: 'started', from: 'queued', msg: started('t') },
    { name: 'failed (no retry)', from: 'running', msg: died('t') },
    { name: 'failed (retry later)', from: 'running', msg: backedOff('t') },
    { name: 'failed (retry due)', from: 'running', msg: retryNow('t') },
    { name: 'failed (not counted)', from: 'running', msg: failed('t', { retryAt: 90, counts: false }) },
    { name: 'due', from: 'delayed', msg: due('t') },
    { name: 'exhausted', from: 'queued', msg: exhausted('t') },
    { name: 'redriven', from: 'dead', msg: redriven('t') },
    { name: 'redriven with input', from: 'dead', msg: redriven('t', 50, { value: { fresh: true } }) },
    { name: 'redriven with undefined input', from: 'dead', msg: redriven('t', 50, { value: undefined }) },
    { name: 'cancelled (delayed)', from: 'delayed', msg: cancelled('t') },
    { name: 'cancelled (running)', from: 'running', msg: cancelled('t') },
    { name: 'requeued', from: 'running', msg: requeued('t') },
    { name: 'progress', from: 'running', msg: progress('t', 'p', true) },
  ];

  it.each(rollbacks)('rolls back $name from $from', ({ from, msg }) => {
    const input = { original: true };
    const l = ledgerWith(from, { input });
    const before = snapshot(l);
    const countsBefore = counts(l);
    const queuedBefore = l.queuedByPriority();
    l.begin();
    expect(l.apply(msg)).toBe(true);
    expect(l.get('t')).not.toEqual(before); // the transition did change something
    l.rollback();
    expect(l.get('t')).toEqual(before);
    expect(l.get('t')!.input).toBe(input); // the very input object, not a copy
    expect(counts(l)).toEqual(countsBefore);
    expect(l.queuedByPriority()).toEqual(queuedBefore);
    // The ledger goes on from the restored state as if the batch never happened.
    expect(l.apply(msg)).toBe(true);
  });

  it('rolls back a failure and a requeue of a task that already has a history, leaving that history as it was', () => {
    const l = ledgerWith('running');
    l.apply(retryNow('t'));
    l.apply(started('t', 2));
    const before = snapshot(l);
    const history = l.get('t')!.history;
    expect(history).toHaveLength(1);
    for (const msg of [failed('t', { attempt: 2, retryAt: 90 }), died('t', 40, 2), requeued('t')]) {
      l.begin();
      expect(l.apply(msg)).toBe(true);
      expect(l.get('t')!.history).toHaveLength(2);
      l.rollback();
      expect(l.get('t')).toEqual(before);
      expect(history).toHaveLength(1); // nor changed in place: a TaskInfo handed out earlier shares that array
    }
  });

  it('rolls back a new breaker record (gone) and a changed one (previous record back)', () => {
    const l = new Ledger();
    l.apply(breakerChanged('agent:a', breaker('open', 100)));
    l.loadBreaker('resource:db', breaker('open', 80));
    l.begin();
    l.apply(breakerChanged('agent:a', breaker('half-open', 100)));
    l.apply(breakerChanged('agent:a', breaker('closed')));
    l.apply(breakerChanged('resource:gpu', breaker('open', 120)));
    l.apply(breakerChanged('resource:db', breaker('closed')));
    expect(l.breakerRecords().size).toBe(3);
    l.rollback();
    expect(new Map(l.breakerRecords())).toEqual(
      new Map([['agent:a', breaker('open', 100)], ['resource:db', breaker('open', 80)]]),
    );
  });

  it('a committed batch is not undone by a later rollback', () => {
    const l = ledgerWith('running');
    l.begin();
    l.apply(backedOff('t'));
    l.apply(breakerChanged('agent:echo', breaker('open', 30)));
    l.commit();
    const after = snapshot(l);
    l.begin();
    l.rollback();
    l.rollback(); // a rollback without a batch is harmless
    expect(l.get('t')).toEqual(after);
    expect(l.get('t')!.state).toBe('delayed');
    expect(l.breakerRecords().get('agent:echo')).toEqual(breaker('open', 30));
  });

  it('rolls back a whole retry cycle, redrive and breaker changes in one batch, newest first', () => {
    const l = ledgerWith('running', { input: 'v1' });
    const before = snapshot(l);
    l.apply(breakerChanged('agent:echo', breaker('closed')));
    l.begin();
    l.apply(progress('t', 'half', true));
    l.apply(backedOff('t', 100));
    l.apply(due('t'));
    l.apply(started('t', 2, 101));
    l.apply(retryNow('t', 2));
    l.apply(exhausted('t', 120));
    l.apply(breakerChanged('agent:echo', breaker('open', 120)));
    l.apply(redriven('t', 130, { value: 'v2' }));
    l.apply(started('t', 3, 131));
    l.apply(died('t', 140, 3));
    l.apply(redriven('t', 150, { value: 'v3' }));
    l.apply(breakerChanged('agent:echo', breaker('half-open', 120)));
    l.apply(submitted(record('u', { seq: 2 })));
    expect(l.get('t')).toMatchObject({ state: 'queued', input: 'v3', attempt: 3 });
    expect(l.get('t')!.history).toHaveLength(3);
    l.rollback();
    expect(l.get('t')).toEqual(before);
    expect(l.get('t')!.input).toBe('v1');
    expect(l.get('u')).toBeUndefined();
    expect(counts(l)).toEqual(only('running'));
    expect(l.queuedByPriority()).toEqual({ critical: 0, high: 0, normal: 0, low: 0 });
    expect(new Map(l.breakerRecords())).toEqual(new Map([['agent:echo', breaker('closed')]]));
  });

  it('refuses a second task with a known idempotency key', () => {
    const l = new Ledger();
    expect(l.apply(submitted(record('a', { key: 'k' })))).toBe(true);
    expect(l.apply(submitted(record('b', { key: 'k', seq: 2 })))).toBe(false);
    expect(l.idForKey('k')).toBe('a');
  });

  it('prunes the oldest finished tasks beyond the count and those older than the age limit', () => {
    const l = new Ledger();
    for (let i = 0; i < 5; i += 1) {
      l.apply(submitted(record(`t${i}`, { seq: i + 1, key: `k${i}` })));
      l.apply(started(`t${i}`));
      l.apply(succeeded(`t${i}`, i, 100 + i));
    }
    l.apply(submitted(record('open', { seq: 9 })));
    expect(l.prune(0, 3)).toEqual(['t0', 't1']);
    expect(l.prune(103, 10)).toEqual(['t2']);
    expect(l.get('t3')).toBeDefined();
    expect(l.get('open')).toBeDefined();
    expect(l.idForKey('k0')).toBeUndefined();
    expect(l.queuedByPriority()).toEqual({ critical: 0, high: 0, normal: 1, low: 0 });
  });

  /** Submits `id` (seq from its number) and brings it to `dead` at time `at`, by a failed run or exhaustion. */
  function kill(l: Ledger, id: string, at: number, how: 'failed' | 'exhausted' = 'failed'): void {
    if (l.get(id) === undefined) expect(l.apply(submitted(record(id, { seq: Number(id.slice(1)) + 1, key: `k-${id}` })))).toBe(true);
    if (how === 'exhausted') {
      expect(l.apply(exhausted(id, at))).toBe(true);
      return;
    }
    const attempt = l.get(id)!.attempt + 1;
    expect(l.apply(started(id, attempt, at - 1))).toBe(true);
    expect(l.apply(died(id, at, attempt))).toBe(true);
  }

  it('prunes dead tasks like other finished ones, by count and by finish time', () => {
    const l = new Ledger();
    kill(l, 't0', 100);
    kill(l, 't1', 101, 'exhausted');
    l.apply(submitted(record('t2', { seq: 3 })));
    l.apply(started('t2'));
    l.apply(succeeded('t2', 'ok', 102));
    kill(l, 't3', 103, 'exhausted');
    kill(l, 't4', 104);
    l.apply(submitted(record('d', { seq: 9 })));
    l.apply(started('d'));
    l.apply(backedOff('d')); // delayed: not finished
    expect(l.prune(0, 3)).toEqual(['t0', 't1']);
    expect(l.idForKey('k-t0')).toBeUndefined();
    expect(l.prune(104, 10)).toEqual(['t2', 't3']);
    expect(l.get('t4')?.state).toBe('dead');
    expect(l.prune(Infinity, 0)).toEqual(['t4']);
    expect(l.get('d')?.state).toBe('delayed');
    expect(counts(l)).toEqual(only('delayed'));
  });

  it('never prunes a redriven task while it is queued or running', () => {
    const l = new Ledger();
    kill(l, 't0', 100);
    kill(l, 't1', 101);
    expect(l.apply(redriven('t0', 110))).toBe(true);
    expect(l.prune(Infinity, 0)).toEqual(['t1']);
    expect(l.get('t0')?.state).toBe('queued');
    expect(l.idForKey('k-t0')).toBe('t0');
    expect(l.apply(started('t0', 2, 120))).toBe(true);
    expect(l.prune(Infinity, 0)).toEqual([]);
    expect(l.get('t0')?.state).toBe('running');
    expect(counts(l)).toEqual(only('running'));
  });

  it('a redriven task no longer counts against the number of finished tasks kept', () => {
    const l = new Ledger();
    kill(l, 't0', 100);
    kill(l, 't1', 101);
    kill(l, 't2', 102);
    l.apply(redriven('t1', 110)); // finished now: t0 and t2
    expect(l.prune(0, 2)).toEqual([]);
    expect(l.get('t0')?.state).toBe('dead');
    expect(l.get('t2')?.state).toBe('dead');
  });

  it('a task that dies again after a redrive is kept by its new finish time, once', () => {
    const l = new Ledger();
    kill(l, 't0', 100);
    kill(l, 't1', 200);
    l.apply(redriven('t0', 250));
    kill(l, 't0', 300); // finished now, oldest first: t1 (200), t0 (300)
    expect(l.prune(250, 10)).toEqual(['t1']); // t1 finished before the age limit, t0 after it
    expect(l.get('t0')?.state).toBe('dead');
    expect(l.prune(0, 1)).toEqual([]);
    expect(l.prune(0, 0)).toEqual(['t0']);
    expect(l.prune(Infinity, 0)).toEqual([]);
  });

  it('keeps the newest finished task when a redriven one died again', () => {
    const l = new Ledger();
    kill(l, 't0', 100);
    kill(l, 't1', 110);
    l.apply(redriven('t0', 120));
    kill(l, 't0', 130); // oldest first: t1 (110), t0 (130)
    expect(l.prune(0, 1)).toEqual(['t1']);
    expect(l.get('t0')?.state).toBe('dead');
  });

  it('a redrive rolled back leaves the dead task prunable, in its place', () => {
    const l = new Ledger();
    kill(l, 't0', 100);
    kill(l, 't1', 101);
    l.begin();
    expect(l.apply(redriven('t0', 110, { value: 'new' }))).toBe(true);
    l.rollback();
    expect(l.get('t0')).toMatchObject({ state: 'dead', finishedAt: 100 });
    expect(l.prune(0, 1)).toEqual(['t0']); // still the oldest finished task
    expect(l.prune(Infinity, 0)).toEqual(['t1']);
    expect(counts(l)).toEqual(only('queued', 0));
  });

  it('a death rolled back is not pruned and does not count against the number kept', () => {
    const l = new Ledger();
    kill(l, 't0', 100);
    l.apply(submitted(record('t1', { seq: 2 })));
    l.apply(started('t1', 1, 100));
    l.begin();
    expect(l.apply(died('t1', 101))).toBe(true);
    l.rollback();
    kill(l, 't2', 102); // finished: t0 and t2
    expect(l.prune(0, 2)).toEqual([]);
    expect(l.prune(Infinity, 0)).toEqual(['t0', 't2']);
    expect(l.get('t1')?.state).toBe('running');
  });
});

import { describe, expect, it } from 'vitest';
import { Ledger } from '../../dist/actors/supervisor/ledger.js';
import type { Message } from '../../dist/actors/messages.js';
import type { TaskRecord, TaskState } from '../../dist/runtime/task.js';

const STATES: readonly TaskState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const ERROR = { name: 'Error', message: 'boom' };

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
const succeeded = (taskId: string, result: unknown = 'ok', at = 30, attempt = 1): Message => ({
  type: 'task.succeeded', taskId, lease: lease(attempt), result, at,
});
const failed = (taskId: string, at = 30): Message => ({ type: 'task.failed', taskId, lease: lease(), error: ERROR, at });
const cancelled = (taskId: string, reason = 'stop', at = 30): Message => ({ type: 'task.cancelled', taskId, reason, at });
const requeued = (taskId: string): Message => ({ type: 'task.requeued', taskId, reason: 'lost', at: 28 });

/** A ledger holding one task `t` brought to `state` through allowed transitions. */
function ledgerWith(state: TaskState): Ledger {
  const l = new Ledger();
  const path: Record<TaskState, Message[]> = {
    queued: [],
    running: [started('t')],
    succeeded: [started('t'), succeeded('t')],
    failed: [started('t'), failed('t')],
    cancelled: [cancelled('t')],
  };
  expect(l.apply(submitted(record('t')))).toBe(true);
  for (const msg of path[state]) expect(l.apply(msg)).toBe(true);
  expect(l.get('t')?.state).toBe(state);
  return l;
}

function counts(l: Ledger): Record<TaskState, number> {
  return Object.fromEntries(STATES.map((s) => [s, l.count(s)])) as Record<TaskState, number>;
}

function only(state: TaskState, n = 1): Record<TaskState, number> {
  return { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, [state]: n };
}

// The full transition table: which message is accepted in which state, and the state after it.
const makers: Record<string, (id: string) => Message> = {
  started: (id) => started(id),
  progress: (id) => progress(id),
  log,
  heartbeat,
  succeeded: (id) => succeeded(id),
  failed: (id) => failed(id),
  cancelled: (id) => cancelled(id),
  requeued,
};
const allowed: Record<string, Partial<Record<TaskState, TaskState>>> = {
  started: { queued: 'running' },
  progress: { running: 'running' },
  log: { running: 'running' },
  heartbeat: { running: 'running' },
  // A run's outcome needs a run; a cancellation may come before any.
  succeeded: { running: 'succeeded' },
  failed: { running: 'failed' },
  cancelled: { queued: 'cancelled', running: 'cancelled' },
  requeued: { running: 'queued' },
};
const table = Object.keys(makers).flatMap((name) =>
  STATES.map((from) => {
    const to = allowed[name]![from];
    return { name, from, ok: to !== undefined, to: to ?? from };
  }),
);

describe('Ledger: transition table', () => {
  it.each(table)('$name from $from: accepted $ok, then $to', ({ name, from, ok, to }) => {
    const l = ledgerWith(from);
    const before = { ...l.get('t')! };
    expect(l.apply(makers[name]!('t'))).toBe(ok);
    expect(l.get('t')!.state).toBe(to);
    expect(counts(l)).toEqual(only(to));
    if (!ok) expect(l.get('t')).toEqual(before); // a refused message changes nothing
  });

  it.each(Object.keys(makers))('%s for an unknown task is refused', (name) => {
    const l = new Ledger();
    expect(l.apply(makers[name]!('ghost'))).toBe(false);
    expect(l.get('ghost')).toBeUndefined();
    expect(counts(l)).toEqual(only('queued', 0));
  });
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
      { type: 'task.dispatch', taskId: 'nobody', attempt: 1, at: 0 },
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
  it('started sets attempt and startedAt', () => {
    const l = ledgerWith('queued');
    l.apply(started('t', 1, 123));
    expect(l.get('t')).toMatchObject({ state: 'running', attempt: 1, startedAt: 123 });
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

  it('failed records the error and finishedAt', () => {
    const l = ledgerWith('running');
    l.apply(failed('t', 77));
    expect(l.get('t')).toMatchObject({ state: 'failed', error: ERROR, finishedAt: 77 });
  });

  it('cancelled records the reason and finishedAt, also for a queued task', () => {
    const l = ledgerWith('queued');
    l.apply(cancelled('t', 'user', 55));
    expect(l.get('t')).toMatchObject({ state: 'cancelled', cancelReason: 'user', finishedAt: 55 });
    expect(l.get('t')!.startedAt).toBeUndefined();
  });

  it('exactly one outcome: a second one is refused and does not overwrite the first', () => {
    const l = ledgerWith('running');
    expect(l.apply(succeeded('t', 'first', 40))).toBe(true);
    expect(l.apply(failed('t', 41))).toBe(false);
    expect(l.apply(cancelled('t', 'late', 42))).toBe(false);
    expect(l.apply(succeeded('t', 'second', 43))).toBe(false);
    const t = l.get('t')!;
    expect(t).toMatchObject({ state: 'succeeded', result: 'first', finishedAt: 40 });
    expect(t.error).toBeUndefined();
    expect(t.cancelReason).toBeUndefined();
    expect(counts(l)).toEqual(only('succeeded'));
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
    expect(l.apply(failed('t'))).toBe(false);
    expect(l.get('t')!.state).toBe('queued');
    expect(l.get('t')!.result).toBeUndefined();
    expect(l.get('t')!.error).toBeUndefined();
  });
});

describe('Ledger: counts and views over many tasks', () => {
  it('counts by state and lists tasks in a state', () => {
    const l = new Ledger();
    for (const id of ['a', 'b', 'c', 'd', 'e']) l.apply(submitted(record(id)));
    l.apply(started('a'));
    l.apply(started('b'));
    l.apply(started('c'));
    l.apply(succeeded('a'));
    l.apply(failed('b'));
    l.apply(cancelled('d'));
    expect(counts(l)).toEqual({ queued: 1, running: 1, succeeded: 1, failed: 1, cancelled: 1 });
    expect([...l.inState('running')].map((t) => t.id)).toEqual(['c']);
    expect([...l.inState('queued')].map((t) => t.id)).toEqual(['e']);
    expect([...l.inState('cancelled')].map((t) => t.id)).toEqual(['d']);
  });

  it('counts always add up to the number of tasks and match inState()', () => {
    const l = new Ledger();
    const ids = Array.from({ length: 12 }, (_, i) => `t${i}`);
    ids.forEach((id) => l.apply(submitted(record(id))));
    // A fixed, messy sequence including refused messages.
    const msgs: Message[] = [
      started('t0'), started('t0'), succeeded('t0'), failed('t0'),
      started('t1'), requeued('t1'), requeued('t1'), started('t1', 2), cancelled('t1'),
      cancelled('t2'), started('t2'), progress('t2'),
      started('t3'), progress('t3'), failed('t3'), succeeded('t3'),
      started('t4'), requeued('t4'),
      started('t5'),
      succeeded('t6'), failed('t6'),
    ];
    for (const m of msgs) {
      l.apply(m);
      const total = STATES.reduce((n, s) => n + l.count(s), 0);
      expect(total).toBe(ids.length);
      for (const s of STATES) expect(l.count(s)).toBe([...l.inState(s)].length);
    }
    expect(counts(l)).toEqual({ queued: 7, running: 1, succeeded: 1, failed: 1, cancelled: 2 });
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
});

import { describe, expect, it } from 'vitest';
import { LIFECYCLE_STATES, TABLE, TASK_EVENTS, transition } from '../../dist/core/transition.js';
import type { Applied, Effect, TaskEvent, TaskEventType, Transition } from '../../dist/core/transition.js';
import { TASK_STATES, TERMINAL_STATES, type TaskRecord, type TaskState } from '../../dist/core/task.js';

const STATES: readonly TaskState[] = ['blocked', 'queued', 'delayed', 'running', 'succeeded', 'dead', 'cancelled'];
const EVENTS: readonly TaskEventType[] = [
  'task.submitted', 'task.started', 'task.progress', 'task.log', 'task.heartbeat', 'task.stalled', 'task.succeeded',
  'task.failed', 'task.due', 'task.unblocked', 'task.exhausted', 'task.redriven', 'task.cancelled', 'task.requeued', 'task.bound',
];
const ERROR = { name: 'Error', message: 'boom' };
const ERROR2 = { name: 'TypeError', message: 'bang' };
const NOW = 30;
const LEASE = '1:1';
const STALE = '1:0';

function record(id: string, over: Partial<TaskRecord> = {}): TaskRecord {
  // Distributed over managers m1 and m2 (`distribute()`): only such a task takes `task.bound`.
  return { id, seq: 1, agent: 'echo', kind: 'module', priority: 'normal', resources: [], input: null, state: 'queued', attempt: 0, submittedAt: 10, managers: ['m1', 'm2'], ...over };
}

/** A plausible record in each state (running under LEASE, delayed until 100, dead after one failure). */
function inState(state: TaskState, over: Partial<TaskRecord> = {}): TaskRecord {
  const base: Partial<TaskRecord> = {
    blocked: { dependsOn: ['p'] },
    queued: {},
    delayed: { attempt: 1, starts: 1, failures: 1, retryAt: 100, error: ERROR },
    running: { attempt: 1, starts: 1, lease: LEASE, startedAt: 20 },
    succeeded: { attempt: 1, starts: 1, lease: LEASE, startedAt: 20, finishedAt: 30, result: 'ok' },
    dead: { attempt: 1, starts: 1, failures: 1, finishedAt: 30, error: ERROR },
    cancelled: { finishedAt: 30, cancelReason: 'stop' },
  }[state];
  return record('t', { state, ...base, ...over });
}

// One representative event of each type, for task 't' (outcomes under the current lease, a failure without retry).
const ev = {
  submitted: (task: TaskRecord = record('t')): TaskEvent => ({ type: 'task.submitted', task, at: task.submittedAt }),
  started: (attempt = 1): TaskEvent => ({ type: 'task.started', taskId: 't', attempt, lease: `1:${attempt}`, at: 20 }),
  progress: (checkpoint = false, lease = LEASE): TaskEvent => ({ type: 'task.progress', taskId: 't', lease, value: 0.5, checkpoint, at: 25 }),
  log: (): TaskEvent => ({ type: 'task.log', taskId: 't', message: 'hi', at: 25 }),
  heartbeat: (): TaskEvent => ({ type: 'task.heartbeat', taskId: 't', at: 25 }),
  stalled: (): TaskEvent => ({ type: 'task.stalled', taskId: 't', silentMs: 5_000, at: 26 }),
  succeeded: (lease = LEASE): TaskEvent => ({ type: 'task.succeeded', taskId: 't', lease, result: 'ok', at: 30 }),
  failed: (o: { retryAt?: number; lease?: string; counts?: boolean } = {}): TaskEvent => ({
    type: 'task.failed', taskId: 't', lease: o.lease ?? LEASE, error: ERROR, at: 30, counts: o.counts ?? true, launchedAt: 18, place: { threadId: 3 },
    ...(o.retryAt === undefined ? {} : { retryAt: o.retryAt }),
  }),
  due: (): TaskEvent => ({ type: 'task.due', taskId: 't', at: 100 }),
  unblocked: (): TaskEvent => ({ type: 'task.unblocked', taskId: 't', at: 40 }),
  exhausted: (): TaskEvent => ({ type: 'task.exhausted', taskId: 't', error: ERROR2, at: 45 }),
  redriven: (input?: { value: unknown }): TaskEvent => ({ type: 'task.redriven', taskId: 't', at: 50, ...(input === undefined ? {} : { input }) }),
  cancelled: (lease?: string): TaskEvent => ({ type: 'task.cancelled', taskId: 't', reason: 'stop', at: 30, ...(lease === undefined ? {} : { lease }) }),
  requeued: (): TaskEvent => ({ type: 'task.requeued', taskId: 't', reason: 'lost', at: 28 }),
  bound: (): TaskEvent => ({ type: 'task.bound', taskId: 't', managerId: 'm2', at: 29 }),
  unbound: (): TaskEvent => ({ type: 'task.bound', taskId: 't', at: 29 }),
};
const representative = (type: TaskEventType): TaskEvent => ev[type.slice('task.'.length) as keyof typeof ev]();

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}

function accepted(t: Transition): Applied {
  if (!t.ok) throw new Error(`refused: ${t.reason}`);
  return t;
}
const types = (effects: readonly Effect[]): string[] => effects.map((e) => e.type);

// The expected outcome of each representative event in each state: the state it leads to, or `R` (refused).
// Written out by hand, independent of TABLE: a change to the lifecycle must be matched here.
const R = null;
type Row = Record<TaskEventType, TaskState | null>;
const row = (over: Partial<Row>): Row => ({ ...Object.fromEntries(EVENTS.map((e) => [e, R])), ...over }) as Row;
const EXPECTED: Record<TaskState, Row> = {
  blocked: row({ 'task.unblocked': 'queued', 'task.exhausted': 'dead', 'task.cancelled': 'cancelled', 'task.bound': 'blocked' }),
  queued: row({ 'task.started': 'running', 'task.exhausted': 'dead', 'task.cancelled': 'cancelled', 'task.bound': 'queued' }),
  delayed: row({ 'task.due': 'queued', 'task.cancelled': 'cancelled', 'task.bound': 'delayed' }),
  running: row({
    'task.progress': 'running', 'task.log': 'running', 'task.heartbeat': 'running', 'task.stalled': 'running',
    'task.succeeded': 'succeeded', 'task.failed': 'dead', 'task.cancelled': 'cancelled', 'task.requeued': 'queued',
  }),
  succeeded: row({}),
  dead: row({ 'task.redriven': 'queued' }),
  cancelled: row({}),
};

describe('the lifecycle table', () => {
  it('has one row per task state and one cell per task event, each a rule or a reason', () => {
    expect([...TASK_EVENTS].sort()).toEqual([...EVENTS].sort());
    expect(new Set(TASK_EVENTS).size).toBe(TASK_EVENTS.length);
    expect([...TASK_STATES].sort()).toEqual([...STATES].sort());
    expect(Object.keys(TABLE).sort()).toEqual([...STATES].sort());
    expect([...LIFECYCLE_STATES].sort()).toEqual(['absent', ...STATES].sort());
    for (const state of STATES) {
      expect(Object.keys(TABLE[state]).sort(), state).toEqual([...EVENTS].sort());
      for (const type of EVENTS) {
        const cell: unknown = TABLE[state][type];
        const ok = typeof cell === 'function' || (typeof cell === 'string' && cell.trim().length > 0);
        expect(ok, `${state} × ${type}`).toBe(true);
      }
    }
  });

  it('a binding changes only the manager (set, or cleared to bind at dispatch), and only of a distributed task that waits', () => {
    const set = accepted(transition(inState('queued', { managerId: 'm1' }), ev.bound(), NOW));
    expect(set.patch).toEqual({ managerId: 'm2' });
    expect(set.log).toEqual({ type: 'bound', detail: 'm2' });
    expect(accepted(transition(inState('queued', { managerId: 'm1' }), ev.unbound(), NOW)).patch).toEqual({ managerId: undefined });
    expect(transition(inState('queued', { managers: undefined }), ev.bound(), NOW).ok).toBe(false);
    expect(transition(inState('running'), ev.bound(), NOW).ok).toBe(false);
  });

  it('terminal states are succeeded, dead and cancelled', () => {
    expect([...TERMINAL_STATES].sort()).toEqual(['cancelled', 'dead', 'succeeded']);
  });

  for (const state of STATES) {
    it(`${state}: each event is accepted or refused as expected`, () => {
      for (const type of EVENTS) {
        const t = transition(inState(state), representative(type), NOW);
        const want = EXPECTED[state][type];
        if (want === R) {
          expect(t.ok, `${state} × ${type} should be refused`).toBe(false);
          if (!t.ok) expect(t.reason.length).toBeGreaterThan(0);
          const cell = TABLE[state][type];
          if (!t.ok && typeof cell === 'string') expect(t.reason).toBe(cell);
        } else {
          const a = accepted(t);
          expect({ from: a.from, to: a.to }, `${state} × ${type}`).toEqual({ from: state, to: want });
        }
      }
    });
  }

  it('a failure is dead without retryAt, delayed with a later one, queued with one due already', () => {
    expect(accepted(transition(inState('running'), ev.failed(), NOW)).to).toBe('dead');
    expect(accepted(transition(inState('running'), ev.failed({ retryAt: NOW + 1 }), NOW)).to).toBe('delayed');
    expect(accepted(transition(inState('running'), ev.failed({ retryAt: NOW }), NOW)).to).toBe('queued');
    expect(accepted(transition(inState('running'), ev.failed({ retryAt: NOW - 5 }), NOW)).to).toBe('queued');
  });

  it('a redrive of a dead task with parents blocks it (judged at once)', () => {
    expect(accepted(transition(inState('dead', { dependsOn: ['p'] }), ev.redriven(), NOW)).to).toBe('blocked');
  });

  it('outcomes and progress under another lease are refused, naming both leases', () => {
    for (const event of [ev.succeeded(STALE), ev.failed({ lease: STALE }), ev.failed({ lease: STALE, retryAt: 99 }), ev.progress(true, STALE), ev.cancelled(STALE)]) {
      const t = transition(inState('running'), event, NOW);
      expect(t.ok, event.type).toBe(false);
      if (!t.ok) expect(t.reason).toMatch(new RegExp(`${STALE}.*${LEASE}`));
    }
  });

  it('a cancellation naming a run is refused when the task has none; without a lease it ends a task that never ran', () => {
    for (const state of ['queued', 'blocked', 'delayed'] as const) {
      expect(transition(inState(state), ev.cancelled(LEASE), NOW).ok, state).toBe(false);
      expect(accepted(transition(inState(state), ev.cancelled(), NOW)).to, state).toBe('cancelled');
    }
    expect(accepted(transition(inState('running'), ev.cancelled(LEASE), NOW)).to).toBe('cancelled');
  });
});

describe('absent: before the submission is recorded', () => {
  it('takes a queued submission', () => {
    const a = accepted(transition(undefined, ev.submitted(record('t')), NOW));
    expect(a).toMatchObject({ from: 'absent', to: 'queued', patch: {}, log: { type: 'submitted', detail: null } });
    expect(a.effects).toEqual([{ type: 'recorded' }]);
  });

  it('takes a blocked submission and judges it', () => {
    const a = accepted(transition(undefined, ev.submitted(record('t', { state: 'blocked', dependsOn: ['p'] })), NOW));
    expect(a.to).toBe('blocked');
    expect(a.effects).toEqual([{ type: 'recorded' }, { type: 'judge' }]);
    expect(a.log).toEqual({ type: 'submitted', detail: null });
  });

  it('takes a cache hit born succeeded, ended at once, logged as cached', () => {
    const a = accepted(transition(undefined, ev.submitted(record('t', { state: 'succeeded', cachedFrom: 'src', result: 1 })), NOW));
    expect(a.to).toBe('succeeded');
    expect(a.effects).toEqual([{ type: 'recorded' }, { type: 'ended' }]);
    expect(a.log).toEqual({ type: 'cached', detail: 'src' });
  });

  it('refuses a submission born in any other state (a success needs cachedFrom)', () => {
    for (const state of ['running', 'delayed', 'dead', 'cancelled', 'succeeded'] as const) {
      expect(transition(undefined, ev.submitted(record('t', { state })), NOW).ok, state).toBe(false);
    }
  });

  it('refuses every other event', () => {
    for (const type of EVENTS.filter((e) => e !== 'task.submitted')) {
      const t = transition(undefined, representative(type), NOW);
      expect(t.ok, type).toBe(false);
    }
  });

  it('a submission for a recorded task is refused in every state', () => {
    for (const state of STATES) expect(transition(inState(state), ev.submitted(record('t')), NOW).ok, state).toBe(false);
  });
});

describe('purity', () => {
  const variants: TaskEvent[] = [
    ...EVENTS.map(representative),
    ev.failed({ retryAt: 99 }), ev.failed({ retryAt: 1 }), ev.failed({ counts: false }), ev.progress(true),
    ev.redriven({ value: { x: 1 } }), ev.cancelled(LEASE), ev.succeeded(STALE),
  ];
  const tasks = [...STATES.map((s) => inState(s)), inState('running', { history: [{ attempt: 0, startedAt: 1, endedAt: 2, durationMs: 1 }] }), inState('dead', { dependsOn: ['p'] })];

  it('never changes a deep-frozen task or event, and gives equal outputs for equal inputs', () => {
    for (const task of tasks) {
      for (const event of variants) {
        const before = structuredClone(task);
        const frozen = deepFreeze(structuredClone(task));
        const frozenEvent = deepFreeze(structuredClone(event));
        const first = transition(frozen, frozenEvent, NOW);
        const second = transition(frozen, frozenEvent, NOW);
        expect(frozen, `${task.state} × ${event.type}`).toEqual(before);
        expect(second).toEqual(first);
        expect(transition(structuredClone(task), structuredClone(event), NOW)).toEqual(first);
      }
    }
  });

  it('a new history array, the old one left as it was', () => {
    const history = deepFreeze([{ attempt: 0, startedAt: 1, endedAt: 2, durationMs: 1 }]);
    const a = accepted(transition(inState('running', { history }), ev.failed(), NOW));
    expect(a.patch.history).not.toBe(history);
    expect(history).toHaveLength(1);
    expect(a.patch.history).toHaveLength(2);
  });
});

describe('effects and patches', () => {
  it('succeeded: ended, children, route succeeded; result and finish time set', () => {
    const a = accepted(transition(inState('running'), ev.succeeded(), NOW));
    expect(a.effects).toEqual([{ type: 'ended' }, { type: 'children' }, { type: 'route', on: 'succeeded' }]);
    expect(a.patch).toMatchObject({ result: 'ok', finishedAt: 30 });
  });

  it('dead by failure or exhaustion: ended, children, route dead', () => {
    const deadEffects = [{ type: 'ended' }, { type: 'children' }, { type: 'route', on: 'dead' }];
    const failed = accepted(transition(inState('running'), ev.failed(), NOW));
    expect(failed.effects).toEqual(deadEffects);
    expect(failed.patch).toMatchObject({ error: ERROR, finishedAt: 30, lease: undefined, startedAt: undefined });
    for (const state of ['queued', 'blocked'] as const) {
      const a = accepted(transition(inState(state), ev.exhausted(), NOW));
      expect(a.effects, state).toEqual(deadEffects);
      expect(a.patch).toMatchObject({ error: ERROR2, finishedAt: 45 });
    }
  });

  it('cancelled: ended and children, no route', () => {
    for (const state of ['blocked', 'queued', 'delayed', 'running'] as const) {
      const a = accepted(transition(inState(state), ev.cancelled(), NOW));
      expect(types(a.effects), state).toEqual(['ended', 'children']);
      expect(a.patch).toMatchObject({ cancelReason: 'stop', finishedAt: 30, retryAt: undefined });
    }
  });

  it('a failure to delayed retries at retryAt; one queued at once has no effect', () => {
    const a = accepted(transition(inState('running'), ev.failed({ retryAt: 99 }), NOW));
    expect(a.effects).toEqual([{ type: 'retry', at: 99 }]);
    expect(a.patch.retryAt).toBe(99);
    expect(a.patch).not.toHaveProperty('finishedAt');
    expect(accepted(transition(inState('running'), ev.failed({ retryAt: NOW }), NOW)).effects).toEqual([]);
  });

  it('due clears retryAt', () => {
    const a = accepted(transition(inState('delayed'), ev.due(), NOW));
    expect(a.effects).toEqual([]);
    expect(a.patch).toHaveProperty('retryAt', undefined);
  });

  it('a redrive reopens the task: blocked and judged with parents, queued without; budgets reset', () => {
    const withParents = accepted(transition(inState('dead', { dependsOn: ['p'], failures: 3, starts: 4 }), ev.redriven(), NOW));
    expect(withParents.effects).toEqual([{ type: 'reopened' }, { type: 'judge' }]);
    const alone = accepted(transition(inState('dead', { failures: 3, starts: 4 }), ev.redriven(), NOW));
    expect(alone.to).toBe('queued');
    expect(alone.effects).toEqual([{ type: 'reopened' }]);
    for (const a of [withParents, alone]) {
      expect(a.patch).toMatchObject({ failures: 0, starts: 0 });
      expect(a.patch).toHaveProperty('finishedAt', undefined);
      expect(a.patch).not.toHaveProperty('input');
      expect(a.patch).not.toHaveProperty('attempt'); // attempts never go back
    }
  });

  it('a redrive with new input patches the input (even a falsy one)', () => {
    expect(accepted(transition(inState('dead'), ev.redriven({ value: { x: 2 } }), NOW)).patch.input).toEqual({ x: 2 });
    const nulled = accepted(transition(inState('dead'), ev.redriven({ value: null }), NOW)).patch;
    expect(nulled).toHaveProperty('input', null);
  });

  it('a start records attempt, lease, start time and one more start', () => {
    const a = accepted(transition(inState('queued', { attempt: 2, starts: 2 }), ev.started(3), NOW));
    expect(a.patch).toEqual({ attempt: 3, starts: 3, lease: '1:3', startedAt: 20 });
    expect(accepted(transition(inState('queued'), ev.started(1), NOW)).patch.starts).toBe(1);
  });

  it('a counted failure adds one to failures; an uncounted one leaves it', () => {
    expect(accepted(transition(inState('running', { failures: 2 }), ev.failed(), NOW)).patch.failures).toBe(3);
    expect(accepted(transition(inState('running'), ev.failed(), NOW)).patch.failures).toBe(1);
    expect(accepted(transition(inState('running', { failures: 2 }), ev.failed({ counts: false, retryAt: 99 }), NOW)).patch).not.toHaveProperty('failures');
  });

  it('history grows by one entry per failure, and per requeue of a started run (interrupted)', () => {
    const old = { attempt: 0, startedAt: 1, endedAt: 2, durationMs: 1 };
    const failed = accepted(transition(inState('running', { history: [old] }), ev.failed({ retryAt: 99 }), NOW));
    expect(failed.patch.history).toEqual([old, { attempt: 1, startedAt: 18, endedAt: 30, durationMs: 12, error: ERROR, threadId: 3 }]);
    const requeued = accepted(transition(inState('running', { history: [old] }), ev.requeued(), NOW));
    expect(requeued.patch.history).toEqual([old, { attempt: 1, startedAt: 20, endedAt: 28, durationMs: 8, interrupted: 'lost' }]);
    expect(requeued.patch).toMatchObject({ lease: undefined, startedAt: undefined });
    expect(requeued.effects).toEqual([]);
    // A running record without a start time (no run to record): no history entry.
    expect(accepted(transition(inState('running', { startedAt: undefined }), ev.requeued(), NOW)).patch).not.toHaveProperty('history');
  });

  it('durations are never negative', () => {
    const a = accepted(transition(inState('running'), { ...(ev.failed() as Extract<TaskEvent, { type: 'task.failed' }>), launchedAt: 40 }, NOW));
    expect(a.patch.history?.[0]?.durationMs).toBe(0);
  });

  it('only transitions to a terminal state carry `ended`', () => {
    for (const state of STATES) {
      for (const type of EVENTS) {
        const t = transition(inState(state), representative(type), NOW);
        if (t.ok) expect(types(t.effects).includes('ended'), `${state} × ${type}`).toBe(TERMINAL_STATES.has(t.to));
      }
    }
  });
});

describe('log rows', () => {
  const cases: [string, TaskRecord, TaskEvent, { type: string; detail: string | null } | undefined][] = [
    ['started', inState('queued'), ev.started(1), { type: 'started', detail: '1:1' }],
    ['checkpoint', inState('running'), ev.progress(true), { type: 'checkpoint', detail: null }],
    ['succeeded', inState('running'), ev.succeeded(), { type: 'succeeded', detail: null }],
    ['failed, delayed', inState('running'), ev.failed({ retryAt: 99 }), { type: 'failed', detail: JSON.stringify(ERROR) }],
    ['failed, queued', inState('running'), ev.failed({ retryAt: 1 }), { type: 'failed', detail: JSON.stringify(ERROR) }],
    ['dead by failure', inState('running'), ev.failed(), { type: 'dead', detail: JSON.stringify(ERROR) }],
    ['dead by exhaustion', inState('queued'), ev.exhausted(), { type: 'dead', detail: JSON.stringify(ERROR2) }],
    ['cancelled', inState('queued'), ev.cancelled(), { type: 'cancelled', detail: 'stop' }],
    ['requeued', inState('running'), ev.requeued(), { type: 'requeued', detail: 'lost' }],
    ['unblocked', inState('blocked'), ev.unblocked(), { type: 'unblocked', detail: null }],
    ['due', inState('delayed'), ev.due(), { type: 'due', detail: null }],
    ['redriven', inState('dead'), ev.redriven(), { type: 'redriven', detail: null }],
    ['plain progress', inState('running'), ev.progress(false), undefined],
    ['log line', inState('running'), ev.log(), undefined],
    ['heartbeat', inState('running'), ev.heartbeat(), undefined],
    ['stalled', inState('running'), ev.stalled(), undefined],
  ];
  for (const [name, task, event, log] of cases) {
    it(`${name}: ${log === undefined ? 'no row' : log.type}`, () => {
      const a = accepted(transition(task, event, NOW));
      if (log === undefined) {
        expect(a).not.toHaveProperty('log');
        expect(a.from).toBe(a.to);
      } else expect(a.log).toEqual(log);
    });
  }

  it('plain progress patches progress only; a checkpoint also the checkpoint; observations patch nothing', () => {
    expect(accepted(transition(inState('running'), ev.progress(false), NOW)).patch).toEqual({ progress: 0.5 });
    expect(accepted(transition(inState('running'), ev.progress(true), NOW)).patch).toEqual({ progress: 0.5, checkpoint: 0.5 });
    for (const event of [ev.log(), ev.heartbeat(), ev.stalled()]) expect(accepted(transition(inState('running'), event, NOW)).patch).toEqual({});
  });
});

describe('attempts never go back', () => {
  // TaskRecord.attempt: "Never goes back (it fences leases)". A start naming an older or the same
  // attempt would make the lease of an earlier run current again (found by the property test).
  it.each([1, 2])('a start with attempt %i on a task at attempt 2 is refused', (n) => {
    const t = transition(inState('queued', { attempt: 2, starts: 2 }), ev.started(n), NOW);
    expect(t.ok).toBe(false);
  });
});

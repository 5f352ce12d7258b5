// The task lifecycle: one pure function and the table of every state × event pair.
import type { Message } from './messages.js';
import type { AttemptRecord, MutableFields, TaskRecord, TaskState } from './task.js';

/** The events that belong to one task's lifecycle (the ledger routes each through `transition`). */
export const TASK_EVENTS = [
  'task.submitted',
  'task.started',
  'task.progress',
  'task.log',
  'task.heartbeat',
  'task.stalled',
  'task.succeeded',
  'task.failed',
  'task.due',
  'task.unblocked',
  'task.exhausted',
  'task.redriven',
  'task.cancelled',
  'task.requeued',
  'task.bound',
] as const;
export type TaskEventType = (typeof TASK_EVENTS)[number];
export type TaskEvent = Extract<Message, { type: TaskEventType }>;
type EventOf<T extends TaskEventType> = Extract<TaskEvent, { type: T }>;

/** Where a task is: one of its states, or `absent` before its submission is recorded. */
export type LifecycleState = TaskState | 'absent';
export const LIFECYCLE_STATES: readonly LifecycleState[] = ['absent', 'blocked', 'queued', 'delayed', 'running', 'succeeded', 'dead', 'cancelled'];

/**
 * What else a transition causes, carried out by the ledger in the same commit. `recorded` and `retry` are
 * informational (the ledger indexes every insert and the Queue times every `delayed` task on its own); the
 * table states them so its tests can say what each cell means:
 * - `recorded`: a new task joins the table (ids, idempotency and cache keys are indexed);
 * - `ended` / `reopened`: it joins or leaves the finished tasks that retention prunes;
 * - `judge`: a blocked task looks at its parents now (they may have ended already);
 * - `children`: it ended, so its blocked children are judged (dependencies);
 * - `route`: pipeline rules for this outcome submit new tasks;
 * - `retry`: it waits until `at` before it is queued again (the Queue's timer).
 */
export type Effect =
  | { type: 'recorded' }
  | { type: 'ended' }
  | { type: 'reopened' }
  | { type: 'judge' }
  | { type: 'children' }
  | { type: 'route'; on: 'succeeded' | 'dead' }
  | { type: 'retry'; at: number };

/** Fields to set (a value) or clear (`undefined`); the rest of the record stays as it was. */
export type TaskPatch = { -readonly [K in keyof MutableFields]?: MutableFields[K] } & { input?: unknown };

export interface Applied {
  readonly ok: true;
  readonly from: LifecycleState;
  readonly to: TaskState;
  /** Undefined for a submission: the record is the event's task. */
  readonly patch: TaskPatch;
  readonly effects: readonly Effect[];
  /**
   * The row this transition adds to the journal's append-only log (type and detail), or
   * undefined when it changes nothing that is kept (plain progress, a log line, a heartbeat).
   */
  readonly log?: { type: string; detail: string | null };
}

export interface Refused {
  readonly ok: false;
  readonly reason: string;
}

export type Transition = Applied | Refused;

type Rule<E extends TaskEvent> = (task: TaskRecord, event: E, now: number) => Transition;
/** A cell of the table: a rule, or the reason the pair is refused. */
type Cell<E extends TaskEvent> = Rule<E> | string;
type Row = { [T in TaskEventType]: Cell<EventOf<T>> };

const NO_EFFECTS: readonly Effect[] = Object.freeze([]);
const ENDED_OK: readonly Effect[] = Object.freeze([{ type: 'ended' }, { type: 'children' }, { type: 'route', on: 'succeeded' }] as Effect[]);
const ENDED_DEAD: readonly Effect[] = Object.freeze([{ type: 'ended' }, { type: 'children' }, { type: 'route', on: 'dead' }] as Effect[]);
const ENDED_CANCELLED: readonly Effect[] = Object.freeze([{ type: 'ended' }, { type: 'children' }] as Effect[]);

const applied = (from: TaskState, to: TaskState, patch: TaskPatch, effects: readonly Effect[], log?: Applied['log']): Applied =>
  log === undefined ? { ok: true, from, to, patch, effects } : { ok: true, from, to, patch, effects, log };
const refused = (reason: string): Refused => ({ ok: false, reason });

/** Outcomes of a run carry its lease: one of another run (lost, superseded) is refused. */
function leased<E extends TaskEvent & { lease?: string }>(rule: Rule<E>): Rule<E> {
  return (task, event, now) => (event.lease !== undefined && event.lease !== task.lease ? refused(`lease ${event.lease} is not the current run's (${task.lease ?? 'none'})`) : rule(task, event, now));
}

/** One unsuccessful run, appended to the task's history (a new array: the old one may be shown). */
function withHistory(task: TaskRecord, entry: Omit<AttemptRecord, 'durationMs'>): AttemptRecord[] {
  const record: AttemptRecord = { ...entry, durationMs: Math.max(0, entry.endedAt - entry.startedAt) };
  return task.history === undefined ? [record] : [...task.history, record];
}

/** A start names the next attempt: an older or repeated one (a stale dispatch) would make an old run's lease current again. */
const start: Rule<EventOf<'task.started'>> = (t, e) =>
  e.attempt <= t.attempt ? refused(`attempt ${e.attempt} is not after the task's attempt ${t.attempt}`) : applied(t.state, 'running', { attempt: e.attempt, starts: (t.starts ?? 0) + 1, lease: e.lease, startedAt: e.at }, NO_EFFECTS, { type: 'started', detail: e.lease });

const progress: Rule<EventOf<'task.progress'>> = leased((t, e) =>
  e.checkpoint
    ? applied(t.state, t.state, { progress: e.value, checkpoint: e.value }, NO_EFFECTS, { type: 'checkpoint', detail: null })
    : applied(t.state, t.state, { progress: e.value }, NO_EFFECTS),
);

/** A log line, a heartbeat, a stall report: accepted while running, nothing changes. */
const observe: Rule<TaskEvent> = (t) => applied(t.state, t.state, {}, NO_EFFECTS);

const succeed: Rule<EventOf<'task.succeeded'>> = leased((t, e) =>
  applied(t.state, 'succeeded', { result: e.result, finishedAt: e.at, error: undefined }, ENDED_OK, { type: 'succeeded', detail: null }),
);

/** The Agent applied the retry policy: with `retryAt` the task runs again (now or then), without it it is dead. */
const fail: Rule<EventOf<'task.failed'>> = leased((t, e, now) => {
  const to: TaskState = e.retryAt === undefined ? 'dead' : e.retryAt > now ? 'delayed' : 'queued';
  const error = JSON.stringify(e.error);
  const patch: TaskPatch = {
    history: withHistory(t, { attempt: t.attempt, startedAt: e.launchedAt, endedAt: e.at, error: e.error, ...e.place }),
    error: e.error,
    startedAt: undefined,
    lease: undefined,
  };
  if (e.counts) patch.failures = (t.failures ?? 0) + 1;
  if (to === 'dead') return applied(t.state, to, { ...patch, finishedAt: e.at }, ENDED_DEAD, { type: 'dead', detail: error });
  if (to === 'delayed') return applied(t.state, to, { ...patch, retryAt: e.retryAt }, [{ type: 'retry', at: e.retryAt! }], { type: 'failed', detail: error });
  return applied(t.state, to, patch, NO_EFFECTS, { type: 'failed', detail: error });
});

const due: Rule<EventOf<'task.due'>> = (t) => applied(t.state, 'queued', { retryAt: undefined }, NO_EFFECTS, { type: 'due', detail: null });

const unblock: Rule<EventOf<'task.unblocked'>> = (t) => applied(t.state, 'queued', {}, NO_EFFECTS, { type: 'unblocked', detail: null });

const exhaust: Rule<EventOf<'task.exhausted'>> = (t, e) =>
  applied(t.state, 'dead', { error: e.error, finishedAt: e.at, retryAt: undefined }, ENDED_DEAD, { type: 'dead', detail: JSON.stringify(e.error) });

/** A dead task runs again with fresh budgets; with parents it first waits for them (judged at once). */
const redrive: Rule<EventOf<'task.redriven'>> = (t, e) => {
  const to: TaskState = t.dependsOn === undefined ? 'queued' : 'blocked';
  const patch: TaskPatch = { failures: 0, starts: 0, finishedAt: undefined };
  if (e.input !== undefined) patch.input = e.input.value;
  const effects: Effect[] = to === 'blocked' ? [{ type: 'reopened' }, { type: 'judge' }] : [{ type: 'reopened' }];
  return applied(t.state, to, patch, effects, { type: 'redriven', detail: null });
};

/** A cancellation may end a task wherever it is; one that names a run must name the current one. */
const cancel: Rule<EventOf<'task.cancelled'>> = leased((t, e) =>
  applied(t.state, 'cancelled', { cancelReason: e.reason, finishedAt: e.at, retryAt: undefined }, ENDED_CANCELLED, { type: 'cancelled', detail: e.reason }),
);

/** Its runner was lost: the run is recorded as interrupted and the task queued again. */
const requeue: Rule<EventOf<'task.requeued'>> = (t, e) => {
  const patch: TaskPatch = { startedAt: undefined, lease: undefined };
  if (e.unbegun === true) patch.starts = Math.max(0, (t.starts ?? 1) - 1);
  if (t.startedAt !== undefined) patch.history = withHistory(t, { attempt: t.attempt, startedAt: t.startedAt, endedAt: e.at, interrupted: e.reason });
  return applied(t.state, 'queued', patch, NO_EFFECTS, { type: 'requeued', detail: e.reason });
};

/** A binding to a manager changes only which manager's `maxChildren` it counts against. */
const bind: Rule<EventOf<'task.bound'>> = (t, e) =>
  t.managers === undefined
    ? refused('only a distributed task is bound to a manager')
    : applied(t.state, t.state, { managerId: e.managerId }, NO_EFFECTS, { type: 'bound', detail: e.managerId ?? null });

const TWICE = 'a task with this id is already recorded';
const NOT_RUNNING = 'only a running task has a run to report on';
const ENDED = 'the task has ended: only a redrive of a dead task reopens it';
const NOT_DEAD = 'only a dead task is redriven';

/** Every state × event pair: a rule, or why it is refused. Rows are states, columns events. */
export const TABLE: { readonly [S in TaskState]: Readonly<Row> } = {
  blocked: {
    'task.submitted': TWICE, 'task.started': 'a blocked task waits for its parents before it starts',
    'task.progress': NOT_RUNNING, 'task.log': NOT_RUNNING, 'task.heartbeat': NOT_RUNNING, 'task.stalled': NOT_RUNNING,
    'task.succeeded': NOT_RUNNING, 'task.failed': NOT_RUNNING, 'task.due': 'only a delayed task becomes due',
    'task.unblocked': unblock, 'task.exhausted': exhaust, 'task.redriven': NOT_DEAD, 'task.cancelled': cancel,
    'task.requeued': NOT_RUNNING, 'task.bound': bind,
  },
  queued: {
    'task.submitted': TWICE, 'task.started': start,
    'task.progress': NOT_RUNNING, 'task.log': NOT_RUNNING, 'task.heartbeat': NOT_RUNNING, 'task.stalled': NOT_RUNNING,
    'task.succeeded': NOT_RUNNING, 'task.failed': NOT_RUNNING, 'task.due': 'only a delayed task becomes due',
    'task.unblocked': 'only a blocked task is unblocked', 'task.exhausted': exhaust, 'task.redriven': NOT_DEAD, 'task.cancelled': cancel,
    'task.requeued': NOT_RUNNING, 'task.bound': bind,
  },
  delayed: {
    'task.submitted': TWICE, 'task.started': 'a delayed task is queued again (due) before it starts',
    'task.progress': NOT_RUNNING, 'task.log': NOT_RUNNING, 'task.heartbeat': NOT_RUNNING, 'task.stalled': NOT_RUNNING,
    'task.succeeded': NOT_RUNNING, 'task.failed': NOT_RUNNING, 'task.due': due,
    'task.unblocked': 'only a blocked task is unblocked', 'task.exhausted': 'a delayed task ends only by its run or a cancel',
    'task.redriven': NOT_DEAD, 'task.cancelled': cancel, 'task.requeued': NOT_RUNNING, 'task.bound': bind,
  },
  running: {
    'task.submitted': TWICE, 'task.started': 'the task is running already',
    'task.progress': progress, 'task.log': observe, 'task.heartbeat': observe, 'task.stalled': observe,
    'task.succeeded': succeed, 'task.failed': fail, 'task.due': 'only a delayed task becomes due',
    'task.unblocked': 'only a blocked task is unblocked', 'task.exhausted': 'a running task ends by its outcome',
    'task.redriven': NOT_DEAD, 'task.cancelled': cancel, 'task.requeued': requeue,
    'task.bound': 'a running task keeps its manager until its run ends',
  },
  succeeded: endedRow(NOT_DEAD),
  dead: { ...endedRow(ENDED), 'task.redriven': redrive },
  cancelled: endedRow(NOT_DEAD),
};

function endedRow(redriven: string): Row {
  const row = Object.fromEntries(TASK_EVENTS.map((type) => [type, ENDED])) as Row;
  return { ...row, 'task.submitted': TWICE, 'task.redriven': redriven };
}

/**
 * The one definition of a task's lifecycle: what `event` does to `task` at `now`, or why it is
 * refused. Pure: it reads its arguments and returns new values, never changes them. `task` is
 * undefined when no task has the event's id; a submission is the only event that takes none.
 */
export function transition(task: TaskRecord | undefined, event: TaskEvent, now: number): Transition {
  if (task === undefined) return event.type === 'task.submitted' ? submitted(event) : refused('no task has this id');
  const cell = TABLE[task.state][event.type] as Cell<TaskEvent>;
  return typeof cell === 'string' ? refused(cell) : cell(task, event, now);
}

/** A new task is born queued, blocked (it has parents) or succeeded (a result-cache hit). */
function submitted(event: EventOf<'task.submitted'>): Transition {
  const task = event.task;
  const effects: Effect[] = [{ type: 'recorded' }];
  if (task.state === 'blocked') effects.push({ type: 'judge' });
  else if (task.state === 'succeeded' && task.cachedFrom !== undefined) effects.push({ type: 'ended' });
  else if (task.state !== 'queued') return refused(`a task is submitted queued, blocked or as a cache hit, not ${task.state}`);
  const log = task.cachedFrom === undefined ? { type: 'submitted', detail: null } : { type: 'cached', detail: task.cachedFrom };
  return { ok: true, from: 'absent', to: task.state, patch: {}, effects, log };
}


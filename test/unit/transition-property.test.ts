import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TASK_EVENTS, transition } from '../../dist/core/transition.js';
import type { Applied, TaskEvent, TaskEventType } from '../../dist/core/transition.js';
import { Ledger } from '../../dist/engine/ledger.js';
import type { Message } from '../../dist/core/messages.js';
import type { TaskRecord, TaskState } from '../../dist/core/task.js';

// Random event sequences for a few task ids, through `transition()` (patches folded here) and through
// the real Ledger, checked against a small reference model written from the README's rules.

const STATES: readonly TaskState[] = ['blocked', 'queued', 'delayed', 'running', 'succeeded', 'dead', 'cancelled'];
const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'dead', 'cancelled']);
const IDS = ['a', 'b', 'c'] as const;
const ERROR = { name: 'Error', message: 'boom' };
const RUNS = { seed: 42, numRuns: 400 } as const;

/** One step, abstract: resolved against the task as it is when the step runs (plausible leases and attempts). */
interface Cmd {
  id: number;
  /** Mostly an event that fits the task's state (most are accepted), sometimes any event. */
  fitting: boolean;
  pick: number;
  /** The lease an event carries: the current run's, a stale one, or none (a cancel of a task that never ran). */
  lease: 'current' | 'stale' | 'none';
  /**
   * A start's attempt: the next one (what the Queue dispatches), a repeat of the current one (a duplicate
   * dispatch) or an older one (a stale dispatch): only the next is accepted.
   */
  attempt: 'next' | 'same' | 'older';
  retry: 'none' | 'past' | 'now' | 'future';
  checkpoint: boolean;
  counts: boolean;
  born: 'queued' | 'blocked' | 'cached' | 'running' | 'succeeded';
  input: boolean;
  dt: number;
}

const cmdArb: fc.Arbitrary<Cmd> = fc.record({
  id: fc.nat({ max: IDS.length - 1 }),
  fitting: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
  pick: fc.nat({ max: 1_000 }),
  lease: fc.oneof({ arbitrary: fc.constant('current' as const), weight: 6 }, { arbitrary: fc.constantFrom('stale' as const, 'none' as const), weight: 1 }),
  attempt: fc.oneof({ arbitrary: fc.constant('next' as const), weight: 5 }, { arbitrary: fc.constantFrom('same' as const, 'older' as const), weight: 1 }),
  retry: fc.constantFrom('none' as const, 'past' as const, 'now' as const, 'future' as const),
  checkpoint: fc.boolean(),
  counts: fc.boolean(),
  born: fc.oneof({ arbitrary: fc.constantFrom('queued' as const, 'blocked' as const, 'cached' as const), weight: 6 }, { arbitrary: fc.constantFrom('running' as const, 'succeeded' as const), weight: 1 }),
  input: fc.boolean(),
  dt: fc.nat({ max: 20 }),
});
const scenarioArb = fc.array(cmdArb, { minLength: 1, maxLength: 80, size: 'max' });

/**
 * Events that matter in each state (generation only: the model below decides what is accepted): those it
 * takes, and near misses it must refuse (an exhaustion while delayed, a second start, a requeue of an ended run).
 */
const FITTING: Record<TaskState | 'absent', readonly TaskEventType[]> = {
  absent: ['task.submitted'],
  blocked: ['task.unblocked', 'task.unblocked', 'task.exhausted', 'task.cancelled', 'task.started', 'task.due', 'task.bound'],
  queued: ['task.started', 'task.started', 'task.started', 'task.exhausted', 'task.cancelled', 'task.requeued', 'task.succeeded', 'task.bound'],
  delayed: ['task.due', 'task.due', 'task.due', 'task.cancelled', 'task.exhausted', 'task.started', 'task.bound'],
  running: [
    'task.progress', 'task.log', 'task.heartbeat', 'task.stalled', 'task.succeeded', 'task.failed', 'task.failed', 'task.failed',
    'task.cancelled', 'task.requeued', 'task.started', 'task.exhausted', 'task.redriven', 'task.bound',
  ],
  succeeded: ['task.redriven', 'task.cancelled', 'task.succeeded', 'task.submitted'],
  dead: ['task.redriven', 'task.redriven', 'task.redriven', 'task.cancelled', 'task.failed', 'task.exhausted'],
  cancelled: ['task.redriven', 'task.submitted', 'task.requeued'],
};

function born(id: string, cmd: Cmd, seq: number, at: number): TaskRecord {
  const parent = IDS[(IDS.indexOf(id as (typeof IDS)[number]) + 1) % IDS.length]!;
  const base: TaskRecord = { id, seq, agent: 'echo', kind: 'module', priority: 'normal', resources: [], input: { seq }, state: 'queued', attempt: 0, submittedAt: at };
  if (cmd.counts) (base as { managers?: string[] }).managers = ['m1', 'm2']; // distributed: it may be bound
  switch (cmd.born) {
    case 'queued': return base;
    case 'blocked': return { ...base, state: 'blocked', dependsOn: [parent] };
    case 'cached': return { ...base, state: 'succeeded', cachedFrom: 'src', result: 'hit', finishedAt: at };
    default: return { ...base, state: cmd.born };
  }
}

/** The concrete event `cmd` stands for, given the task as it is now (undefined: not recorded). */
function eventFor(cmd: Cmd, task: TaskRecord | undefined, now: number, seq: number): TaskEvent {
  const taskId = IDS[cmd.id]!;
  const types = cmd.fitting ? FITTING[task?.state ?? 'absent'] : TASK_EVENTS;
  const type = types[cmd.pick % types.length]!;
  const attempt = task?.attempt ?? 0;
  const current = task?.lease ?? `1:${attempt}`;
  const lease = cmd.lease === 'stale' ? (cmd.pick % 2 === 0 ? `0:${attempt}` : `1:${attempt - 1}`) : current;
  const at = now;
  switch (type) {
    case 'task.submitted': return { type, task: born(taskId, cmd, seq, at), at };
    case 'task.started': {
      const n = cmd.attempt === 'next' ? attempt + 1 : cmd.attempt === 'same' ? attempt : attempt - 1;
      return { type, taskId, attempt: n, lease: `1:${n}`, at };
    }
    case 'task.progress': return { type, taskId, lease, value: now, checkpoint: cmd.checkpoint, at };
    case 'task.log': return { type, taskId, message: 'hi', at };
    case 'task.heartbeat': return { type, taskId, at };
    case 'task.stalled': return { type, taskId, silentMs: 1_000, at };
    case 'task.succeeded': return { type, taskId, lease, result: now, at };
    case 'task.failed': {
      const retryAt = { none: undefined, past: now - 5, now, future: now + 50 }[cmd.retry];
      return { type, taskId, lease, error: ERROR, at, counts: cmd.counts, launchedAt: task?.startedAt ?? now, place: { threadId: 1 }, ...(retryAt === undefined ? {} : { retryAt }) };
    }
    case 'task.due': return { type, taskId, at };
    case 'task.unblocked': return { type, taskId, at };
    case 'task.exhausted': return { type, taskId, error: ERROR, at };
    case 'task.redriven': return { type, taskId, at, ...(cmd.input ? { input: { value: { redriven: now } } } : {}) };
    case 'task.cancelled': {
      // The Queue cancels a task that is not running without a lease; the Agent names the run it stopped.
      const named = cmd.lease === 'stale' || (cmd.lease === 'current' && task?.lease !== undefined);
      return { type, taskId, reason: 'stop', at, ...(named ? { lease } : {}) };
    }
    case 'task.requeued': return { type, taskId, reason: 'lost', at };
    case 'task.bound': return { type, taskId, at, ...(cmd.checkpoint ? { managerId: 'm1' } : {}) };
  }
}

// ---- The reference model: a plain switch over (state, event), from the rules in words. ----

interface ModelTask {
  state: TaskState;
  /** Submitted by `distribute()`: it may be bound to a manager while it waits. */
  distributed: boolean;
  /** The last attempt started: a start must name a later one. */
  attempt: number;
  lease?: string;
  parents: boolean;
}

/** The state `event` leads to, or null when it is refused. */
function modelNext(m: ModelTask | undefined, e: TaskEvent, now: number): TaskState | null {
  if (m === undefined) {
    // Only a submission takes an absent task, born queued, blocked, or succeeded as a cache hit.
    if (e.type !== 'task.submitted') return null;
    const s = e.task.state;
    return s === 'queued' || s === 'blocked' || (s === 'succeeded' && e.task.cachedFrom !== undefined) ? s : null;
  }
  const running = m.state === 'running';
  const ownRun = running && 'lease' in e && e.lease === m.lease; // a run's outcome needs a running task and its lease
  switch (e.type) {
    case 'task.submitted': return null; // recorded already
    case 'task.started': return m.state === 'queued' && e.attempt > m.attempt ? 'running' : null;
    case 'task.progress': return ownRun ? 'running' : null;
    case 'task.log':
    case 'task.heartbeat':
    case 'task.stalled': return running ? 'running' : null;
    case 'task.succeeded': return ownRun ? 'succeeded' : null;
    case 'task.failed': return !ownRun ? null : e.retryAt === undefined ? 'dead' : e.retryAt > now ? 'delayed' : 'queued';
    case 'task.due': return m.state === 'delayed' ? 'queued' : null;
    case 'task.unblocked': return m.state === 'blocked' ? 'queued' : null;
    case 'task.exhausted': return m.state === 'queued' || m.state === 'blocked' ? 'dead' : null;
    case 'task.redriven': return m.state === 'dead' ? (m.parents ? 'blocked' : 'queued') : null;
    case 'task.cancelled':
      // It may end a task that never ran; one that names a run must name the current one; terminal states take nothing.
      if (TERMINAL.has(m.state)) return null;
      return e.lease === undefined || e.lease === m.lease ? 'cancelled' : null;
    case 'task.requeued': return running ? 'queued' : null;
    case 'task.bound': return m.distributed && (m.state === 'queued' || m.state === 'delayed' || m.state === 'blocked') ? m.state : null;
  }
}

function modelApply(m: ModelTask | undefined, e: TaskEvent, to: TaskState): ModelTask {
  if (m === undefined) {
    const task = e.type === 'task.submitted' ? e.task : undefined;
    return { state: to, attempt: 0, parents: task?.dependsOn !== undefined, distributed: task?.managers !== undefined };
  }
  const next: ModelTask = { ...m, state: to };
  if (e.type === 'task.started') {
    next.lease = e.lease;
    next.attempt = e.attempt;
  }
  if (e.type === 'task.failed' || e.type === 'task.requeued') delete next.lease;
  return next;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}

/** The record after `t`: the submission's task, or the old one with the patch folded in (undefined clears). */
function fold(task: TaskRecord | undefined, event: TaskEvent, t: Applied): TaskRecord {
  if (task === undefined) return deepFreeze(structuredClone((event as Extract<TaskEvent, { type: 'task.submitted' }>).task));
  const next: Record<string, unknown> = { ...task, state: t.to };
  for (const [key, value] of Object.entries(t.patch)) {
    if (value === undefined) delete next[key];
    else next[key] = value;
  }
  return deepFreeze(next as unknown as TaskRecord);
}

describe('transition() against a reference model, over random event sequences', () => {
  it('agrees with the model step by step and keeps the lifecycle invariants', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(scenarioArb, (cmds) => {
        const records = new Map<string, TaskRecord>();
        const model = new Map<string, ModelTask>();
        const endings = new Map<string, number>();
        let now = 1_000;
        cmds.forEach((cmd, seq) => {
          now += cmd.dt;
          const id = IDS[cmd.id]!;
          const task = records.get(id);
          const event = deepFreeze(eventFor(cmd, task, now, seq + 1));
          const t = transition(task, event, now);
          const want = modelNext(model.get(id), event, now);
          const where = `step ${seq}: ${task?.state ?? 'absent'} × ${event.type}`;
          expect(t.ok, `${where} (${t.ok ? 'accepted' : t.reason})`).toBe(want !== null);
          if (!t.ok) return;
          seen.add(`${t.from} ${event.type} ${t.to}`);
          expect(t.from, where).toBe(task?.state ?? 'absent');
          expect(t.to, where).toBe(want);
          const next = fold(task, event, t);
          records.set(id, next);
          model.set(id, modelApply(model.get(id), event, t.to));
          expect(next.state).toBe(model.get(id)!.state);
          // `attempt` never goes back (it fences leases).
          if (task !== undefined) expect(next.attempt, where).toBeGreaterThanOrEqual(task.attempt);
          // At most one recorded ending between redrives; every ending says so, nothing else does.
          const ended = t.effects.some((e) => e.type === 'ended');
          expect(ended, where).toBe(TERMINAL.has(t.to));
          if (event.type === 'task.redriven') endings.set(id, 0);
          if (TERMINAL.has(t.to)) endings.set(id, (endings.get(id) ?? 0) + 1);
          expect(endings.get(id) ?? 0, where).toBeLessThanOrEqual(1);
          // A running task holds the lease its start recorded; no other state holds one but an ended run's.
          if (t.to === 'running') expect(next.lease).toBe(model.get(id)!.lease);
          if (t.to === 'queued' || t.to === 'delayed' || t.to === 'blocked') expect(next.lease, where).toBeUndefined();
          // Entering delayed sets a retry time ahead; a delayed task rebound keeps its own (now may have passed it).
          if (t.to === 'delayed' && t.from !== 'delayed') expect(next.retryAt, where).toBeGreaterThan(now);
          else if (t.to === 'delayed') expect(next.retryAt, where).toBe(task!.retryAt);
          else expect(next.retryAt, where).toBeUndefined();
        });
      }),
      RUNS,
    );
    // The generator reached every accepted kind of step (deterministic: the seed is fixed).
    for (const step of [
      'absent task.submitted queued', 'absent task.submitted blocked', 'absent task.submitted succeeded',
      'queued task.started running', 'queued task.exhausted dead', 'queued task.cancelled cancelled',
      'blocked task.unblocked queued', 'blocked task.exhausted dead', 'blocked task.cancelled cancelled',
      'delayed task.due queued', 'delayed task.cancelled cancelled',
      'running task.progress running', 'running task.heartbeat running', 'running task.succeeded succeeded',
      'running task.failed dead', 'running task.failed delayed', 'running task.failed queued',
      'running task.cancelled cancelled', 'running task.requeued queued',
      'dead task.redriven queued', 'dead task.redriven blocked',
    ]) expect(seen, step).toContain(step);
  });
});

describe('the Ledger over random event sequences', () => {
  it('keeps its counts by state equal to its records, consequences included', () => {
    fc.assert(
      fc.property(scenarioArb, (cmds) => {
        const ledger = new Ledger();
        let now = 1_000;
        cmds.forEach((cmd, seq) => {
          now += cmd.dt;
          const id = IDS[cmd.id]!;
          const before = ledger.get(id);
          const event = eventFor(cmd, before === undefined ? undefined : structuredClone(before), now, seq + 1) as Message;
          // What the lifecycle says, on a copy taken before the ledger changes anything.
          const expected = transition(before === undefined ? undefined : structuredClone(before), event as TaskEvent, now).ok;
          const attempt = before?.attempt ?? 0;
          expect(ledger.apply(event), `step ${seq}: ${before?.state ?? 'absent'} × ${event.type}`).toBe(expected);
          // Carry out what it causes (a blocked task judging its parents, children of an ended task), as the engine does.
          const pending: Message[] = [...ledger.consequences(event)];
          for (let guard = 0; pending.length > 0; guard++) {
            expect(guard).toBeLessThan(50);
            const next = pending.shift()!;
            if (ledger.apply(next)) pending.push(...ledger.consequences(next));
          }
          const recorded = IDS.map((i) => ledger.get(i)).filter((t): t is TaskRecord => t !== undefined);
          let total = 0;
          for (const state of STATES) {
            const n = ledger.count(state);
            total += n;
            expect(n, `count(${state}) after step ${seq}`).toBe(recorded.filter((t) => t.state === state).length);
          }
          expect(total).toBe(recorded.length);
          expect([...ledger.all()].length).toBe(recorded.length);
          if (ledger.get(id) !== undefined && before !== undefined) expect(ledger.get(id)!.attempt).toBeGreaterThanOrEqual(attempt);
        });
      }),
      RUNS,
    );
  });
});

import Denque from 'denque';
import type { Message, MessageOf } from '../core/messages.js';
import type { BreakerRecord } from '../actors/breaker/breaker-logic.js';
import { decideChild, decisionMessage } from './dependencies.js';
import type { Router } from './pipelines.js';
import { cacheSlot } from '../core/cache.js';
import {
  restoreTask, snapshotTask, TERMINAL_STATES, type AttemptRecord, type MutableFields, type Priority, type TaskRecord, type TaskState,
} from '../core/task.js';
import type { TaskView } from '../core/views.js';

export type { TaskView };

/** How to undo one change, should the batch it belongs to fail to reach the journal. */
type Undo =
  | { insert: TaskRecord }
  | { task: TaskRecord; before: MutableFields; finished: Finished | undefined; input?: { value: unknown } }
  | { breaker: string; before: BreakerRecord | undefined };

/**
 * The task table and the single place where task state changes. Every message passes through
 * `apply()` before any actor sees it; a transition that does not fit the task's current state
 * (a second outcome, progress after the end, an outcome of another run's lease) is refused and
 * the message dropped, so each task has exactly one recorded outcome. Changes made between
 * `begin()` and `commit()` can be rolled back when the journal refuses the batch.
 */
export class Ledger implements TaskView {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly counts = new Map<TaskState, number>();
  private readonly queuedBy: Record<Priority, number> = { critical: 0, high: 0, normal: 0, low: 0 };
  private readonly queuedByAgentCounts = new Map<string, number>();
  private readonly keys = new Map<string, string>();
  /**
   * Per cache slot (agent and cache key), the newest task that ran with it (never a cached copy):
   * what a submission with that key joins or reuses. Rebuilt by `load()`; pruning the task ends it.
   */
  private readonly cacheSources = new Map<string, string>();
  /** Finished tasks in the order they finished: retention prunes from the front. */
  private readonly finished = new Denque<Finished>();
  /** The live entry of each finished task (an entry not here is stale: the task was redriven, or it finished again). */
  private readonly finishedEntry = new Map<string, Finished>();
  private readonly breakers = new Map<string, BreakerRecord>();
  /**
   * Children not ended yet, by parent id. Kept by `bump()`, which every state change goes through
   * (rollbacks included), so it never disagrees with the table.
   */
  private readonly openChildren = new Map<string, Set<string>>();
  private undo: Undo[] | undefined;
  private maxSeq = 0;
  /** The pipeline rules' router; undefined without rules. */
  private router: Router | undefined;

  /** Routes task endings to new submissions (pipelines), recorded with the ending. */
  setRouter(router: Router | undefined): void {
    this.router = router;
  }

  breakerRecords(): ReadonlyMap<string, BreakerRecord> {
    return this.breakers;
  }

  /** Puts back a breaker read from the journal. */
  loadBreaker(key: string, record: BreakerRecord): void {
    this.breakers.set(key, record);
  }

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  /** The id of the task submitted with this idempotency key, if it is still kept. */
  idForKey(key: string): string | undefined {
    return this.keys.get(key);
  }

  /** The task a submission with this cache key would join or reuse, if one is kept. */
  cacheSource(agent: string, cacheKey: string): TaskRecord | undefined {
    const id = this.cacheSources.get(cacheSlot(agent, cacheKey));
    return id === undefined ? undefined : this.tasks.get(id);
  }

  /** True when `task` (a submission to run) has a cache key that a task in flight holds: it joins that one. */
  joinable(task: TaskRecord): boolean {
    if (task.cacheKey === undefined || task.cachedFrom !== undefined) return false;
    const source = this.cacheSource(task.agent, task.cacheKey);
    return source !== undefined && !TERMINAL_STATES.has(source.state);
  }

  all(): Iterable<TaskRecord> {
    return this.tasks.values();
  }

  *inState(state: TaskState): Iterable<TaskRecord> {
    for (const task of this.tasks.values()) if (task.state === state) yield task;
  }

  count(state: TaskState): number {
    return this.counts.get(state) ?? 0;
  }

  /** Queued tasks per agent (agents with none are absent), exact at any moment. */
  queuedByAgent(): ReadonlyMap<string, number> {
    return this.queuedByAgentCounts;
  }

  /** Queued tasks per priority level, exact at any moment. */
  queuedByPriority(): Record<Priority, number> {
    return { ...this.queuedBy };
  }

  /** The next submission sequence number (FIFO order within a priority level). */
  nextSeq(): number {
    this.maxSeq += 1;
    return this.maxSeq;
  }

  /** Adds a task read back from the journal, as it was. */
  load(task: TaskRecord): void {
    this.insert(task);
    if (TERMINAL_STATES.has(task.state)) this.markFinished(task.id);
  }

  begin(): void {
    this.undo = [];
  }

  commit(): void {
    this.undo = undefined;
  }

  /** Undoes every change since `begin()`, newest first. */
  rollback(): void {
    const undo = this.undo ?? [];
    this.undo = undefined;
    for (const step of undo.reverse()) {
      if ('insert' in step) this.remove(step.insert);
      else if ('breaker' in step) this.setBreaker(step.breaker, step.before);
      else {
        if (step.input !== undefined) step.task.input = step.input.value;
        this.restore(step.task, step.before);
        if (step.finished === undefined) this.finishedEntry.delete(step.task.id);
        else this.finishedEntry.set(step.task.id, step.finished);
      }
    }
  }

  /** Removes finished tasks: those that finished before `olderThan`, and all but the newest `keep`. */
  prune(olderThan: number, keep: number): string[] {
    const gone: string[] = [];
    const kept: Finished[] = [];
    while (this.finished.length > 0) {
      const entry = this.finished.peekFront()!;
      const task = this.tasks.get(entry.id);
      if (task === undefined || this.finishedEntry.get(entry.id) !== entry || !TERMINAL_STATES.has(task.state)) {
        this.finished.shift(); // stale
        continue;
      }
      if (this.finishedEntry.size - kept.length <= keep && (task.finishedAt ?? 0) >= olderThan) break;
      this.finished.shift();
      // A parent whose children have not ended stays: they need its state and its result.
      if (this.openChildren.has(task.id)) kept.push(entry);
      else {
        this.remove(task);
        gone.push(task.id);
      }
    }
    for (const entry of kept.reverse()) this.finished.unshift(entry);
    return gone;
  }

  /** Records the transition `msg` describes. Returns false when it must not be passed on. */
  apply(msg: Message): boolean {
    switch (msg.type) {
      case 'task.submitted':
        return this.submit(msg.task);
      case 'task.started':
        return this.move(msg.taskId, ['queued'], 'running', undefined, (t) => {
          t.attempt = msg.attempt;
          t.starts = (t.starts ?? 0) + 1;
          t.lease = msg.lease;
          t.startedAt = msg.at;
        });
      case 'task.progress':
        return this.touch(msg.taskId, msg.lease, (t) => {
          t.progress = msg.value;
          if (msg.checkpoint) t.checkpoint = msg.value;
        });
      case 'task.log':
      case 'task.heartbeat':
      case 'task.stalled':
        return this.get(msg.taskId)?.state === 'running';
      case 'task.succeeded':
        return this.finish(msg.taskId, ['running'], 'succeeded', msg, (t) => (t.result = msg.result));
      case 'task.failed':
        return this.failed(msg);
      case 'task.due':
        return this.move(msg.taskId, ['delayed'], 'queued', undefined, (t) => delete t.retryAt);
      case 'task.unblocked':
        return this.move(msg.taskId, ['blocked'], 'queued', undefined, () => {});
      case 'task.exhausted':
        return this.finish(msg.taskId, ['queued', 'blocked'], 'dead', msg, (t) => (t.error = msg.error));
      case 'task.redriven':
        return this.redrive(msg);
      case 'task.cancelled':
        return this.finish(msg.taskId, ['blocked', 'queued', 'delayed', 'running'], 'cancelled', msg, (t) => {
          t.cancelReason = msg.reason;
          delete t.retryAt;
        });
      case 'task.requeued':
        return this.move(msg.taskId, ['running'], 'queued', undefined, (t) => {
          if (t.startedAt !== undefined) addHistory(t, { attempt: t.attempt, startedAt: t.startedAt, endedAt: msg.at, interrupted: msg.reason });
          delete t.startedAt;
          delete t.lease;
        });
      case 'breaker.changed':
        this.undo?.push({ breaker: msg.key, before: this.breakers.get(msg.key) });
        this.setBreaker(msg.key, msg.record);
        return true;
      default:
        return true;
    }
  }

  /**
   * The transitions an applied message causes, to apply next in the same commit: a submission or
   * redrive with parents is judged at once; a task that ended settles its blocked children (which
   * may end and settle theirs in turn); a success or a dead letter submits what pipelines route.
   */
  consequences(msg: Message): readonly Message[] {
    const deps = this.dependents(msg);
    if (this.router === undefined) return deps;
    const routed = this.routed(msg, this.router);
    return routed.length === 0 ? deps : deps.length === 0 ? routed : [...deps, ...routed];
  }

  private routed(msg: Message, router: Router): readonly Message[] {
    if (msg.type !== 'task.succeeded' && msg.type !== 'task.failed' && msg.type !== 'task.exhausted') return NONE;
    const task = this.tasks.get(msg.taskId);
    if (task?.state === 'succeeded') return router(task, 'succeeded', msg.at);
    return task?.state === 'dead' ? router(task, 'dead', msg.at) : NONE;
  }

  private dependents(msg: Message): readonly Message[] {
    if (msg.type === 'task.submitted' || msg.type === 'task.redriven') {
      const task = this.tasks.get(msg.type === 'task.submitted' ? msg.task.id : msg.taskId);
      const next = task?.state === 'blocked' ? this.judge(task, msg.at) : undefined;
      return next === undefined ? NONE : [next];
    }
    if (!ENDINGS.has(msg.type)) return NONE;
    const parent = (msg as { taskId: string }).taskId;
    if (!this.openChildren.has(parent)) return NONE; // the usual case: nothing depends on it
    const out: Message[] = [];
    for (const childId of this.openChildren.get(parent) ?? []) {
      const child = this.tasks.get(childId);
      const next = child?.state === 'blocked' ? this.judge(child, (msg as { at: number }).at) : undefined;
      if (next !== undefined) out.push(next);
    }
    return out;
  }

  private judge(child: TaskRecord, at: number): Message | undefined {
    const parents = (child.dependsOn ?? []).map((id) => ({ id, state: this.tasks.get(id)?.state ?? ('missing' as const) }));
    return decisionMessage(child, decideChild(child, parents), at);
  }

  childrenOf(id: string): ReadonlySet<string> | undefined {
    return this.openChildren.get(id);
  }

  /** A failed run: the task waits for its retry (delayed, or queued when already due) or is dead. */
  private failed(msg: MessageOf<'task.failed'>): boolean {
    const to: TaskState = msg.retryAt === undefined ? 'dead' : msg.retryAt > msg.at ? 'delayed' : 'queued';
    const record = (t: TaskRecord): void => {
      addHistory(t, { attempt: t.attempt, startedAt: msg.launchedAt, endedAt: msg.at, error: msg.error, ...msg.place });
      t.error = msg.error;
      if (msg.counts) t.failures = (t.failures ?? 0) + 1;
      delete t.startedAt;
      delete t.lease;
    };
    if (to === 'dead') return this.finish(msg.taskId, ['running'], 'dead', msg, record);
    return this.move(msg.taskId, ['running'], to, msg.lease, (t) => {
      record(t);
      if (to === 'delayed') t.retryAt = msg.retryAt;
    });
  }

  /** A dead task goes back to the queue with a fresh attempt and start budget (and new input, if given). */
  private redrive(msg: MessageOf<'task.redriven'>): boolean {
    const task = this.tasks.get(msg.taskId);
    if (task?.state !== 'dead') return false;
    const input = msg.input === undefined ? undefined : { value: task.input };
    this.undo?.push({ task, before: snapshotTask(task), finished: this.finishedEntry.get(task.id), input });
    this.bump(task, -1);
    // With parents it is judged again (next, by `consequences()`): it may have to wait for them.
    task.state = task.dependsOn === undefined ? 'queued' : 'blocked';
    this.bump(task, 1);
    task.failures = 0;
    task.starts = 0;
    delete task.finishedAt;
    this.finishedEntry.delete(task.id);
    if (msg.input !== undefined) task.input = msg.input.value;
    return true;
  }

  private markFinished(id: string): void {
    const entry: Finished = { id };
    this.finished.push(entry);
    this.finishedEntry.set(id, entry);
  }

  private setBreaker(key: string, record: BreakerRecord | undefined): void {
    if (record === undefined) this.breakers.delete(key);
    else this.breakers.set(key, record);
  }

  private submit(task: TaskRecord): boolean {
    if (this.tasks.has(task.id) || (task.key !== undefined && this.keys.has(task.key))) return false;
    // Two submissions with one cache key in the same batch: the second joins the first.
    if (task.cacheKey !== undefined && this.joinable(task)) return false;
    this.insert(task);
    this.undo?.push({ insert: task });
    if (task.cachedFrom !== undefined) this.markFinished(task.id); // a cache hit is born succeeded
    return true;
  }

  /**
   * Records the one outcome of a task. Success and failure are outcomes of a run, so they need a
   * running task and its lease (a late outcome of a lost run is refused); a cancellation may also
   * end a task that never ran.
   */
  private finish(
    id: string,
    from: readonly TaskState[],
    state: TaskState,
    msg: { at: number; lease?: string },
    set: (t: TaskRecord) => void,
  ): boolean {
    const done = this.move(id, from, state, msg.lease, (t) => {
      t.finishedAt = msg.at;
      set(t);
    });
    if (done) this.markFinished(id);
    return done;
  }

  private move(id: string, from: readonly TaskState[], to: TaskState, lease: string | undefined, set: (t: TaskRecord) => void): boolean {
    const task = this.tasks.get(id);
    if (task === undefined || !from.includes(task.state) || TERMINAL_STATES.has(task.state)) return false;
    if (lease !== undefined && task.lease !== lease) return false;
    this.undo?.push({ task, before: snapshotTask(task), finished: this.finishedEntry.get(task.id) });
    this.bump(task, -1);
    task.state = to;
    this.bump(task, 1);
    set(task);
    return true;
  }

  private touch(id: string, lease: string, set: (t: TaskRecord) => void): boolean {
    const task = this.tasks.get(id);
    if (task?.state !== 'running' || task.lease !== lease) return false;
    this.undo?.push({ task, before: snapshotTask(task), finished: this.finishedEntry.get(task.id) });
    set(task);
    return true;
  }

  private insert(task: TaskRecord): void {
    this.tasks.set(task.id, task);
    if (task.key !== undefined) this.keys.set(task.key, task.id);
    if (task.cacheKey !== undefined && task.cachedFrom === undefined) this.indexCacheSource(task);
    this.maxSeq = Math.max(this.maxSeq, task.seq);
    this.bump(task, 1);
  }

  private remove(task: TaskRecord): void {
    this.tasks.delete(task.id);
    this.finishedEntry.delete(task.id);
    if (task.key !== undefined && this.keys.get(task.key) === task.id) this.keys.delete(task.key);
    if (task.cacheKey !== undefined) {
      // A rolled-back submission that had replaced an older source loses it: a later miss, not a wrong hit.
      const slot = cacheSlot(task.agent, task.cacheKey);
      if (this.cacheSources.get(slot) === task.id) this.cacheSources.delete(slot);
    }
    this.bump(task, -1);
  }

  /** The newest (by submission order) task that ran with a key is its source, whatever order `load()` reads them in. */
  private indexCacheSource(task: TaskRecord): void {
    const slot = cacheSlot(task.agent, task.cacheKey!);
    const current = this.tasks.get(this.cacheSources.get(slot) ?? '');
    if (current === undefined || current.id === task.id || current.seq < task.seq) this.cacheSources.set(slot, task.id);
  }

  private restore(task: TaskRecord, before: MutableFields): void {
    this.bump(task, -1);
    restoreTask(task, before);
    this.bump(task, 1);
  }

  private linkChild(child: TaskRecord, add: boolean): void {
    for (const parent of child.dependsOn!) {
      let set = this.openChildren.get(parent);
      if (add) {
        if (set === undefined) this.openChildren.set(parent, (set = new Set()));
        set.add(child.id);
      } else if (set !== undefined) {
        set.delete(child.id);
        if (set.size === 0) this.openChildren.delete(parent);
      }
    }
  }

  /** Counts `task` in (+1) or out of (-1) the tallies of its current state. */
  private bump(task: TaskRecord, delta: number): void {
    this.counts.set(task.state, (this.counts.get(task.state) ?? 0) + delta);
    if (task.dependsOn !== undefined && !TERMINAL_STATES.has(task.state)) this.linkChild(task, delta > 0);
    if (task.state !== 'queued') return;
    this.queuedBy[task.priority] += delta;
    const n = (this.queuedByAgentCounts.get(task.agent) ?? 0) + delta;
    if (n === 0) this.queuedByAgentCounts.delete(task.agent);
    else this.queuedByAgentCounts.set(task.agent, n);
  }
}

const NONE: readonly Message[] = Object.freeze([]);

/** Transitions that end a task: its blocked children are judged. */
const ENDINGS: ReadonlySet<Message['type']> = new Set<Message['type']>(['task.succeeded', 'task.failed', 'task.cancelled', 'task.exhausted']);

/** Appends one unsuccessful run to the task's history. */
function addHistory(t: TaskRecord, entry: Omit<AttemptRecord, 'durationMs'>): void {
  const record: AttemptRecord = { ...entry, durationMs: Math.max(0, entry.endedAt - entry.startedAt) };
  t.history = t.history === undefined ? [record] : [...t.history, record];
}

/** One entry of the retention queue. */
interface Finished {
  readonly id: string;
}

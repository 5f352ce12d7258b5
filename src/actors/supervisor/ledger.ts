import Denque from 'denque';
import type { Message } from '../messages.js';
import { restoreTask, snapshotTask, TERMINAL_STATES, type Priority, type TaskRecord, type TaskState, type MutableFields } from '../../runtime/task.js';

/** Read access to the task table, shared with the actors (they never write it). */
export interface TaskView {
  get(id: string): TaskRecord | undefined;
  inState(state: TaskState): Iterable<TaskRecord>;
  count(state: TaskState): number;
}

/** How to undo one change, should the batch it belongs to fail to reach the journal. */
type Undo = { insert: TaskRecord } | { task: TaskRecord; before: MutableFields };

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
  private readonly keys = new Map<string, string>();
  /** Finished task ids in the order they finished: retention prunes from the front. */
  private readonly finished = new Denque<string>();
  private undo: Undo[] | undefined;
  private maxSeq = 0;

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  /** The id of the task submitted with this idempotency key, if it is still kept. */
  idForKey(key: string): string | undefined {
    return this.keys.get(key);
  }

  *inState(state: TaskState): Iterable<TaskRecord> {
    for (const task of this.tasks.values()) if (task.state === state) yield task;
  }

  count(state: TaskState): number {
    return this.counts.get(state) ?? 0;
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
    if (TERMINAL_STATES.has(task.state)) this.finished.push(task.id);
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
      else this.restore(step.task, step.before);
    }
  }

  /** Removes finished tasks: those that finished before `olderThan`, and all but the newest `keep`. */
  prune(olderThan: number, keep: number): string[] {
    const gone: string[] = [];
    while (this.finished.length > 0) {
      const task = this.tasks.get(this.finished.peekFront()!);
      const tooMany = this.finished.length > keep;
      if (task !== undefined && !tooMany && (task.finishedAt ?? 0) >= olderThan) break;
      this.finished.shift();
      if (task === undefined || !TERMINAL_STATES.has(task.state)) continue;
      this.remove(task);
      gone.push(task.id);
    }
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
        return this.get(msg.taskId)?.state === 'running';
      case 'task.succeeded':
        return this.finish(msg.taskId, ['running'], 'succeeded', msg, (t) => (t.result = msg.result));
      case 'task.failed':
        return this.finish(msg.taskId, ['running'], 'failed', msg, (t) => (t.error = msg.error));
      case 'task.cancelled':
        return this.finish(msg.taskId, ['queued', 'running'], 'cancelled', msg, (t) => (t.cancelReason = msg.reason));
      case 'task.requeued':
        return this.move(msg.taskId, ['running'], 'queued', undefined, (t) => {
          delete t.startedAt;
          delete t.lease;
        });
      default:
        return true;
    }
  }

  private submit(task: TaskRecord): boolean {
    if (this.tasks.has(task.id) || (task.key !== undefined && this.keys.has(task.key))) return false;
    this.insert(task);
    this.undo?.push({ insert: task });
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
    if (done) this.finished.push(id);
    return done;
  }

  private move(id: string, from: readonly TaskState[], to: TaskState, lease: string | undefined, set: (t: TaskRecord) => void): boolean {
    const task = this.tasks.get(id);
    if (task === undefined || !from.includes(task.state) || TERMINAL_STATES.has(task.state)) return false;
    if (lease !== undefined && task.lease !== lease) return false;
    this.undo?.push({ task, before: snapshotTask(task) });
    this.bump(task, -1);
    task.state = to;
    this.bump(task, 1);
    set(task);
    return true;
  }

  private touch(id: string, lease: string, set: (t: TaskRecord) => void): boolean {
    const task = this.tasks.get(id);
    if (task?.state !== 'running' || task.lease !== lease) return false;
    this.undo?.push({ task, before: snapshotTask(task) });
    set(task);
    return true;
  }

  private insert(task: TaskRecord): void {
    this.tasks.set(task.id, task);
    if (task.key !== undefined) this.keys.set(task.key, task.id);
    this.maxSeq = Math.max(this.maxSeq, task.seq);
    this.bump(task, 1);
  }

  private remove(task: TaskRecord): void {
    this.tasks.delete(task.id);
    if (task.key !== undefined && this.keys.get(task.key) === task.id) this.keys.delete(task.key);
    this.bump(task, -1);
  }

  private restore(task: TaskRecord, before: MutableFields): void {
    this.bump(task, -1);
    restoreTask(task, before);
    this.bump(task, 1);
  }

  /** Counts `task` in (+1) or out of (-1) the tallies of its current state. */
  private bump(task: TaskRecord, delta: number): void {
    this.counts.set(task.state, (this.counts.get(task.state) ?? 0) + delta);
    if (task.state === 'queued') this.queuedBy[task.priority] += delta;
  }
}

import type { Message } from '../messages.js';
import { TERMINAL_STATES, type TaskRecord, type TaskState } from '../../runtime/task.js';

/** Read access to the task table, shared with the actors (they never write it). */
export interface TaskView {
  get(id: string): TaskRecord | undefined;
  inState(state: TaskState): Iterable<TaskRecord>;
  count(state: TaskState): number;
}

/**
 * The task table and the single place where task state changes. Every message passes through
 * `apply()` before any actor sees it; a transition that does not fit the task's current state
 * (a second outcome, progress after the end) is refused and the message is dropped, so each task
 * has exactly one recorded outcome. The journal issue puts a durable commit behind this.
 */
export class Ledger implements TaskView {
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly counts = new Map<TaskState, number>();

  get(id: string): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  *inState(state: TaskState): Iterable<TaskRecord> {
    for (const task of this.tasks.values()) if (task.state === state) yield task;
  }

  count(state: TaskState): number {
    return this.counts.get(state) ?? 0;
  }

  /** Records the transition `msg` describes. Returns false when it must not be passed on. */
  apply(msg: Message): boolean {
    switch (msg.type) {
      case 'task.submitted':
        if (this.tasks.has(msg.task.id)) return false;
        this.tasks.set(msg.task.id, msg.task);
        this.bump(msg.task.state, 1);
        return true;
      case 'task.started':
        return this.move(msg.taskId, ['queued'], 'running', (t) => {
          t.attempt = msg.attempt;
          t.startedAt = msg.at;
        });
      case 'task.progress':
        return this.touch(msg.taskId, 'running', (t) => (t.progress = msg.value));
      case 'task.log':
      case 'task.heartbeat':
        return this.get(msg.taskId)?.state === 'running';
      case 'task.succeeded':
        return this.finish(msg.taskId, ['running'], 'succeeded', msg.at, (t) => (t.result = msg.result));
      case 'task.failed':
        return this.finish(msg.taskId, ['running'], 'failed', msg.at, (t) => (t.error = msg.error));
      case 'task.cancelled':
        return this.finish(msg.taskId, ['queued', 'running'], 'cancelled', msg.at, (t) => (t.cancelReason = msg.reason));
      case 'task.requeued':
        return this.move(msg.taskId, ['running'], 'queued', (t) => delete t.startedAt);
      default:
        return true;
    }
  }

  /**
   * Records the one outcome of a task. Success and failure are outcomes of a run, so they need a
   * running task (a late outcome of a lost run, arriving once the task is queued again, is
   * refused); a cancellation may also end a task that never ran.
   */
  private finish(id: string, from: readonly TaskState[], state: TaskState, at: number, set: (t: TaskRecord) => void): boolean {
    return this.move(id, from, state, (t) => {
      t.finishedAt = at;
      set(t);
    });
  }

  private move(id: string, from: readonly TaskState[], to: TaskState, set: (t: TaskRecord) => void): boolean {
    const task = this.tasks.get(id);
    if (task === undefined || !from.includes(task.state) || TERMINAL_STATES.has(task.state)) return false;
    this.bump(task.state, -1);
    this.bump(to, 1);
    task.state = to;
    set(task);
    return true;
  }

  private touch(id: string, state: TaskState, set: (t: TaskRecord) => void): boolean {
    const task = this.tasks.get(id);
    if (task?.state !== state) return false;
    set(task);
    return true;
  }

  private bump(state: TaskState, delta: number): void {
    this.counts.set(state, (this.counts.get(state) ?? 0) + delta);
  }
}

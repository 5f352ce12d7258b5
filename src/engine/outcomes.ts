// Waiting for a task's outcome: what `result()` resolves or rejects with, once it is durable.
import { deserializeError, fieldError, TroupeError } from '../core/errors.js';
import type { Message } from '../core/messages.js';
import type { TaskRecord } from '../core/task.js';
import type { EnginePort } from './intake-port.js';

type Waiter = { resolve: (value: unknown) => void; reject: (err: TroupeError) => void };

export function unknownTask(id: unknown): TroupeError {
  return fieldError('TROUPE_UNKNOWN_TASK', 'id', 'must be the id of a submitted task', id);
}

function stillPending(): TroupeError {
  return new TroupeError('TROUPE_SHUTTING_DOWN', 'the runtime stopped before the task finished; it is kept in the journal and resumes at the next start');
}

/** The outcome of a finished task: its value, or the error `result()` rejects with. */
export function settledOutcome(task: TaskRecord): { value: unknown } | TroupeError | undefined {
  switch (task.state) {
    case 'succeeded':
      return { value: task.result };
    case 'dead': {
      const cause = deserializeError(task.error!);
      return new TroupeError('TROUPE_TASK_FAILED', `task ${task.id} (${task.agent}) failed: ${cause.message}`, {
        cause,
        details: { taskId: task.id, agent: task.agent, attempt: task.attempt, history: task.history ?? [] },
      });
    }
    case 'cancelled':
      return new TroupeError('TROUPE_TASK_CANCELLED', `task ${task.id} (${task.agent}) was cancelled: ${task.cancelReason}`, {
        details: { taskId: task.id, agent: task.agent, reason: task.cancelReason },
      });
    default:
      return undefined;
  }
}

/**
 * Callers waiting for outcomes. An outcome is read from the committed task and handed over once
 * it is durable (under 'fsync', after the fdatasync that covers it), never before.
 */
export class Outcomes {
  private readonly waiters = new Map<string, Waiter[]>();
  /** The runtime stopped: what has not ended will not end in this process. */
  private stopped = false;

  constructor(private readonly root: EnginePort) {
    // Completion covers a stop that could not record `supervisor.stopped` (a store refusing writes).
    root.messages$.subscribe({ next: (m) => this.settle(m), complete: () => this.abandon() });
  }

  result(id: string, signal?: AbortSignal): Promise<unknown> {
    const task = this.root.ledger.get(id);
    if (task === undefined) return Promise.reject(unknownTask(id));
    const settled = settledOutcome(task);
    if (settled !== undefined) {
      return new Promise((resolve, reject) => this.root.afterDurable(() => (settled instanceof TroupeError ? reject(settled) : resolve(settled.value)), reject));
    }
    if (this.stopped) return Promise.reject(stillPending());
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      const list = this.waiters.get(id) ?? [];
      list.push(waiter);
      this.waiters.set(id, list);
      // Giving up on the wait (a long-poll that timed out) forgets the waiter: none piles up.
      signal?.addEventListener('abort', () => {
        this.forget(id, waiter);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /**
   * Cancels task `id` wherever it is; resolves true once it is cancelled, false if it had already
   * ended (or ends otherwise first). Rejects with TROUPE_UNKNOWN_TASK.
   */
  cancel(id: string, reason: string): Promise<boolean> {
    const task = this.root.ledger.get(id);
    if (task === undefined) return Promise.reject(unknownTask(id));
    if (settledOutcome(task) !== undefined) return Promise.resolve(false);
    if (this.stopped) return Promise.reject(new TroupeError('TROUPE_SHUTTING_DOWN', 'the runtime has stopped: nothing can be cancelled'));
    const outcome = this.result(id).then(
      () => false,
      (err: TroupeError) => err.code === 'TROUPE_TASK_CANCELLED',
    );
    this.root.publish({ type: 'task.cancel', taskId: id, reason, at: this.root.options.clock.now() });
    return outcome;
  }

  private forget(id: string, waiter: Waiter): void {
    const list = this.waiters.get(id)?.filter((w) => w !== waiter);
    if (list === undefined || list.length === 0) this.waiters.delete(id);
    else this.waiters.set(id, list);
  }

  private settle(msg: Message): void {
    if (msg.type === 'supervisor.stopped') return this.abandon();
    if (msg.type !== 'task.succeeded' && msg.type !== 'task.failed' && msg.type !== 'task.cancelled' && msg.type !== 'task.exhausted') return;
    if (msg.type === 'task.failed' && msg.retryAt !== undefined) return; // it will run again
    const list = this.waiters.get(msg.taskId);
    if (list === undefined) return;
    this.waiters.delete(msg.taskId);
    const outcome = settledOutcome(this.root.ledger.get(msg.taskId)!);
    // Redriven in the same round, say: it has not ended after all, so they wait on.
    if (outcome === undefined) return void this.waiters.set(msg.taskId, list);
    this.root.afterDurable(
      () => {
        for (const w of list) {
          if (outcome instanceof TroupeError) w.reject(outcome);
          else w.resolve(outcome.value);
        }
      },
      (err) => {
        for (const w of list) w.reject(err as TroupeError);
      },
    );
  }

  /** The runtime stopped with tasks kept in the journal: their waiters learn it now. */
  private abandon(): void {
    this.stopped = true;
    for (const list of this.waiters.values()) for (const w of list) w.reject(stillPending());
    this.waiters.clear();
  }
}

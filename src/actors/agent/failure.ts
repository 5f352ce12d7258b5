import type { Message, MessageOf } from '../../core/messages.js';
import { serializeError, TroupeError } from '../../core/errors.js';
import type { TaskRecord } from '../../core/task.js';
import { decideRetry } from './retry-policy.js';
import type { Run } from './run.js';
import { NotBegun } from './module-runner.js';

/** How a run ended, as its thread or process said. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * The message a run's end publishes: requeued (stopped to resume later, or never begun in a batch
 * whose thread went), cancelled, succeeded, or failed as the retry policy decides. Undefined for a
 * failure of a task no longer recorded.
 */
export function outcomeMessage(taskId: string, task: TaskRecord | undefined, run: Run, outcome: Outcome, at: number, random: () => number): Message | undefined {
  const lease = run.lease;
  if (run.cancelReason === undefined && run.failure === undefined && !outcome.ok && outcome.error instanceof NotBegun) {
    // Its thread went (another task of its batch was stopped by force) before it began: nothing ran.
    return { type: 'task.requeued', taskId, reason: outcome.error.message, at, unbegun: true };
  }
  if (run.cancelReason !== undefined && run.requeue === true) return { type: 'task.requeued', taskId, reason: run.cancelReason, at };
  if (run.cancelReason !== undefined) return { type: 'task.cancelled', taskId, reason: run.cancelReason, lease, at };
  if (run.failure === undefined && outcome.ok) return { type: 'task.succeeded', taskId, lease, result: outcome.value, at };
  const error = run.failure ?? (outcome as { error: unknown }).error;
  return task === undefined ? undefined : failedMessage(task, run, error, at, random);
}

/**
 * The `task.failed` message for a run that failed: the retry policy decides, from the task's
 * failures and starts so far, whether it is retried (and when) or dead.
 */
export function failedMessage(task: TaskRecord, run: Run, error: unknown, at: number, random: () => number): MessageOf<'task.failed'> {
  const serialized = serializeError(error);
  const failed = { failures: (task.failures ?? 0) + 1, starts: task.starts ?? 1, error: serialized };
  const decision = decideRetry(run.policy.retry, failed, random);
  const msg: MessageOf<'task.failed'> = {
    type: 'task.failed',
    taskId: task.id,
    lease: run.lease,
    error: serialized,
    at,
    counts: decision.action === 'dead' || decision.countsAsAttempt,
    launchedAt: run.launchedAt,
    place: { ...run.place },
  };
  if (decision.action === 'retry') msg.retryAt = at + decision.delayMs;
  return msg;
}

export function timeoutError(run: Run): TroupeError {
  const ms = run.policy.timeoutMs!;
  return new TroupeError('TROUPE_TASK_TIMEOUT', `the run took longer than its timeout (${ms} ms) and was stopped`, { details: { timeoutMs: ms } });
}

export function stallError(run: Run, silentMs: number): TroupeError {
  const ms = run.policy.stallTimeoutMs!;
  const message = `the run sent no heartbeat for ${Math.round(silentMs)} ms (stallTimeoutMs ${ms}) and was stopped`;
  return new TroupeError('TROUPE_TASK_STALLED', message, { details: { stallTimeoutMs: ms } });
}

/** A kept output line matched one of the agent's `stuckPatterns`: failed as a stall, the line in the error. */
export function stuckError(run: Run, line: string, pattern: string): TroupeError {
  const message = `the run printed a line matching stuckPatterns ${JSON.stringify(pattern)} and was stopped: ${line}`;
  return new TroupeError('TROUPE_TASK_STALLED', message, { details: { pattern, line, lease: run.lease } });
}

export function maxStartsError(task: TaskRecord, maxStarts: number): TroupeError {
  const message = `task ${task.id} was started ${task.starts ?? 0} times without finishing (retry.maxStarts ${maxStarts})`;
  return new TroupeError('TROUPE_MAX_STARTS', message, { details: { maxStarts } });
}

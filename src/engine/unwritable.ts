// What is left of a round when the store refused it for one task (see taskAtFault).
import type { TroupeError } from '../core/errors.js';
import { serializeError } from '../core/errors.js';
import type { Message } from '../core/messages.js';
import type { TaskRecord } from '../core/task.js';

export interface Rewritten {
  /** The round's messages to apply again, the task's own replaced. */
  retry: Message[];
  /** Messages refused with the error (their submitters are told). */
  refused: Message[];
}

const taskOf = (msg: Message): string | undefined =>
  msg.type === 'task.submitted' ? msg.task.id : 'taskId' in msg ? msg.taskId : undefined;

/**
 * One task's value cannot be written, or its row is another writer's; every other message of the
 * round stands. Its submission or redrive is refused. A result that cannot be written becomes a
 * failure that kills the task (the same handler would return the same value again: no retry
 * loop); a checkpoint is dropped, noted on the task's log. A fenced task's messages are dropped.
 * Returns undefined when no message of the round carries the value (nothing to take out).
 */
export function withoutUnwritable(batch: readonly Message[], taskId: string, err: TroupeError, task: TaskRecord | undefined): Rewritten | undefined {
  const retry: Message[] = [];
  const refused: Message[] = [];
  let changed = false;
  for (const msg of batch) {
    if (taskOf(msg) !== taskId) {
      retry.push(msg);
      continue;
    }
    if (msg.type === 'task.submitted' || (msg.type === 'task.redriven' && msg.input !== undefined)) {
      refused.push(msg);
      changed = true;
    } else if (msg.type === 'task.cancel') {
      changed = true; // a cancel the journal cannot record is not made: the task runs on
    } else if (err.code === 'TROUPE_STORE_CONFLICT') {
      changed = true; // another writer holds the row: what this runtime says of the task is stale
    } else if (msg.type === 'task.succeeded') {
      const launchedAt = task?.startedAt ?? msg.at;
      retry.push({ type: 'task.failed', taskId, lease: msg.lease, error: serializeError(err), at: msg.at, counts: true, launchedAt, place: {} });
      changed = true;
    } else if (msg.type === 'task.progress' && msg.checkpoint) {
      retry.push({ type: 'task.log', taskId, message: `checkpoint not kept: ${err.message}`, at: msg.at });
      changed = true;
    } else {
      retry.push(msg);
    }
  }
  return changed ? { retry, refused } : undefined;
}

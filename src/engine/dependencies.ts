import { serializeError, TroupeError } from '../core/errors.js';
import type { Message } from '../core/messages.js';
import type { TaskRecord, TaskState } from '../core/task.js';

/** What becomes of a blocked task, given where its parents are. */
export type ChildDecision =
  | { kind: 'stay' }
  | { kind: 'unblock' }
  | { kind: 'fail'; parent: string; parentState: TaskState | 'missing' }
  | { kind: 'cancel'; parent: string };

/**
 * Pure: a cancelled parent cancels the child; a dead (or missing) one fails it, lets it run
 * (`ignore`, once every parent has ended) or keeps it waiting (`wait`); it runs once every parent
 * succeeded.
 */
export function decideChild(child: Pick<TaskRecord, 'onParentFailure'>, parents: readonly { id: string; state: TaskState | 'missing' }[]): ChildDecision {
  const policy = child.onParentFailure ?? 'fail';
  let waiting = false;
  for (const { id, state } of parents) {
    if (state === 'cancelled') return { kind: 'cancel', parent: id };
    if (state === 'succeeded') continue;
    if (state === 'dead' || state === 'missing') {
      if (policy === 'fail') return { kind: 'fail', parent: id, parentState: state };
      if (policy === 'wait') waiting = true;
      continue;
    }
    waiting = true; // not ended yet
  }
  return waiting ? { kind: 'stay' } : { kind: 'unblock' };
}

/** The transition a decision makes, at `at`; undefined when the child stays blocked. */
export function decisionMessage(child: TaskRecord, decision: ChildDecision, at: number): Message | undefined {
  switch (decision.kind) {
    case 'stay':
      return undefined;
    case 'unblock':
      return { type: 'task.unblocked', taskId: child.id, at };
    case 'cancel':
      return { type: 'task.cancelled', taskId: child.id, reason: `parent ${decision.parent} was cancelled`, at };
    case 'fail': {
      const why = decision.parentState === 'missing' ? 'is no longer kept' : 'is dead';
      const error = new TroupeError('TROUPE_DEPENDENCY_FAILED', `task ${child.id} (${child.agent}) did not run: its parent ${decision.parent} ${why}`, {
        details: { taskId: child.id, parent: decision.parent },
      });
      return { type: 'task.exhausted', taskId: child.id, error: serializeError(error), at };
    }
  }
}

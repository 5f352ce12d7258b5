// A parent's end reaches its children: cancelled subtrees, and the policy for a parent that ended otherwise.
import type { Message } from '../core/messages.js';
import { TERMINAL_STATES, type TaskRecord } from '../core/task.js';
import type { ResolvedOptions } from '../core/config.js';
import type { TaskView } from '../core/views.js';

/** What the subtree rules read: the tasks, and each parent's children. */
export interface SubtreeView extends Pick<TaskView, 'get' | 'all'> {
  spawnedBy(id: string): ReadonlySet<string> | undefined;
}

/** The messages that may end a task (a failure may also retry it). */
export const ENDINGS: ReadonlySet<string> = new Set(['task.succeeded', 'task.failed', 'task.cancelled', 'task.exhausted']);
const NONE: readonly Message[] = Object.freeze([]);

/**
 * The cancellations a committed message causes: when a task ends, each of its children still under
 * way is cancelled, if the parent was cancelled (always) or its child policy is `cancel` (the
 * default). Each cancelled child ends in turn, so the rule reaches the whole subtree. Pure.
 */
export function subtreeCancels(view: SubtreeView, options: Pick<ResolvedOptions, 'agents'>, msg: Message, at: number): readonly Message[] {
  if (!ENDINGS.has(msg.type)) return NONE;
  const parent = view.get((msg as { taskId: string }).taskId);
  if (parent === undefined || !TERMINAL_STATES.has(parent.state)) return NONE; // a failure that will retry
  return cancelsFor(view, options, parent, at);
}

/**
 * At start, after recovery: children still under way whose parent ended under `cancel` (the
 * runtime stopped between the parent's end and the cancellations) are cancelled now.
 */
export function orphanCancels(view: SubtreeView, options: Pick<ResolvedOptions, 'agents'>, at: number): Message[] {
  const out: Message[] = [];
  for (const task of view.all()) {
    if (task.parentId === undefined || TERMINAL_STATES.has(task.state)) continue;
    const parent = view.get(task.parentId);
    if (parent !== undefined && TERMINAL_STATES.has(parent.state) && policyOf(parent, options) === 'cancel') {
      out.push(cancelOf(task.id, parent, at));
    }
  }
  return out;
}

function cancelsFor(view: SubtreeView, options: Pick<ResolvedOptions, 'agents'>, parent: TaskRecord, at: number): readonly Message[] {
  const children = view.spawnedBy(parent.id);
  if (children === undefined) return NONE; // the usual case: no children
  if (parent.state !== 'cancelled' && policyOf(parent, options) === 'detach') return NONE;
  const out: Message[] = [];
  for (const id of children) {
    const child = view.get(id);
    if (child !== undefined && !TERMINAL_STATES.has(child.state)) out.push(cancelOf(id, parent, at));
  }
  return out;
}

function policyOf(parent: TaskRecord, options: Pick<ResolvedOptions, 'agents'>): 'cancel' | 'detach' {
  return parent.childPolicy ?? options.agents.get(parent.agent)?.children ?? 'cancel';
}

function cancelOf(taskId: string, parent: TaskRecord, at: number): Message {
  return { type: 'task.cancel', taskId, reason: `parent ${parent.id} ${parent.state === 'cancelled' ? 'was cancelled' : `ended (${parent.state})`}`, at };
}

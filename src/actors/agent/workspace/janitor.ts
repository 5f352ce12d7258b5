// What becomes of a task's worktree, decided from the task's state alone (pure: unit-tested).
import { TERMINAL_STATES, type TaskState } from '../../../core/task.js';
import type { WorkspaceConfig } from '../../../core/workspace.js';

/**
 * - `keep`: leave it (the task may run again, or the keep policy holds it for inspection);
 * - `remove`: remove the worktree, keep its record (get() still shows branch and head);
 * - `forget`: no task owns it any more (pruned, unknown): remove the worktree and its record.
 */
export type WorktreeFate = 'keep' | 'remove' | 'forget';

/**
 * A task not ended keeps its worktree (a retry, a restart reuses it). An ended one keeps it by
 * `keep`: always, on-failure (any end but success), never. No task, or no workspace option for
 * its agent any more: nothing will ever use it.
 */
export function worktreeFate(task: { state: TaskState } | undefined, config: Pick<WorkspaceConfig, 'keep'> | undefined): WorktreeFate {
  if (task === undefined || config === undefined) return 'forget';
  if (!TERMINAL_STATES.has(task.state)) return 'keep';
  if (config.keep === 'always') return 'keep';
  if (config.keep === 'on-failure' && task.state !== 'succeeded') return 'keep';
  return 'remove';
}

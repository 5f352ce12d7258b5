// What the scheduler reads: the fields of a task it orders by, and the configured limits.
import type { AgentKind, Priority } from '../../core/task.js';

/** What the scheduler needs of a task. */
export interface SchedTask {
  id: string;
  seq: number;
  agent: string;
  kind: AgentKind;
  priority: Priority;
  resources: readonly string[];
  /** Critical-path rank in its graph: higher goes first within a priority level. */
  rank?: number;
  /** Its fairness group: groups of a priority level take turns (no group: the default group). */
  group?: string;
  /** The task that submitted it: a parent's children share its `maxChildren`. */
  parentId?: string;
  /** A distributed task's candidate managers, and the one it is bound to (which it then counts against). */
  managers?: readonly string[];
  managerId?: string;
}

/** Dispatch order within a priority level: higher rank first, then submission order. */
export function ahead(a: SchedTask, b: SchedTask): number {
  return (b.rank ?? 0) - (a.rank ?? 0) || a.seq - b.seq;
}

/** The configured concurrency limits the scheduler enforces. */
export interface Limits {
  agentConcurrency(agent: string): number;
  resourceConcurrency(resource: string): number;
  /** Tasks of a named group running at once (default: unlimited). */
  groupConcurrency?(group: string): number;
  /** Children of this parent (or tasks bound to this manager) running at once (default: unlimited). */
  childConcurrency?(parentId: string): number;
  /** The same for a candidate manager of an unbound task: 0 once that manager has ended (nothing more binds to it). */
  managerConcurrency?(managerId: string): number;
  /** The repository an agent's tasks run in worktrees of (agent option `workspace`), if any. */
  workspaceOf?(agent: string): string | undefined;
  /** Tasks of a repository running in worktrees at once (`maxWorktrees`), and whether its disk budget holds new ones back. */
  workspaceConcurrency?(repo: string): number;
  workspaceHeld?(repo: string): boolean;
}

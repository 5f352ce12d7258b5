// What runs now, counted per agent, resource, group and parent (or manager): the scheduler's limits read it.
import type { SchedTask } from './sched-task.js';

/** The key a task's `maxChildren` count goes to: its manager when bound, else its parent. */
export function familyKey(task: SchedTask): string | undefined {
  return task.managerId ?? task.parentId;
}

export class Usage {
  readonly agents = new Map<string, number>();
  readonly resources = new Map<string, number>();
  readonly groups = new Map<string, number>();
  /** Running tasks per repository of worktrees. */
  readonly workspaces = new Map<string, number>();
  /** Running tasks per parent or manager. */
  readonly parents = new Map<string, number>();
  /** The parent or manager each running task was charged to (a binding may change while it runs). */
  private readonly charged = new Map<string, string>();

  constructor(private readonly workspaceOf: (agent: string) => string | undefined = () => undefined) {}

  /** Charges a running task; `family` overrides its parent or manager (the manager chosen at dispatch). */
  acquire(task: SchedTask, family = familyKey(task)): void {
    bump(this.agents, task.agent, 1);
    for (const r of task.resources) bump(this.resources, r, 1);
    if (task.group !== undefined) bump(this.groups, task.group, 1);
    const repo = this.workspaceOf(task.agent);
    if (repo !== undefined) bump(this.workspaces, repo, 1);
    if (family !== undefined) {
      bump(this.parents, family, 1);
      this.charged.set(task.id, family);
    }
  }

  release(task: SchedTask): void {
    bump(this.agents, task.agent, -1);
    for (const r of task.resources) bump(this.resources, r, -1);
    if (task.group !== undefined) bump(this.groups, task.group, -1);
    const repo = this.workspaceOf(task.agent);
    if (repo !== undefined) bump(this.workspaces, repo, -1);
    const family = this.charged.get(task.id);
    if (family !== undefined) {
      bump(this.parents, family, -1);
      this.charged.delete(task.id);
    }
  }
}

export function bump(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

// Parents and children: a child's checks and inheritance at submission, and the views of a task's subtree.
import { fieldError } from '../core/errors.js';
import type { ValidSubmission } from '../core/submission.js';
import { TERMINAL_STATES, toTaskInfo, type TaskInfo, type TaskRecord, type TaskState } from '../core/task.js';

/** What the family views read of the task table. */
export interface FamilyView {
  get(id: string): TaskRecord | undefined;
  spawnedBy(id: string): ReadonlySet<string> | undefined;
  boundTo(id: string): ReadonlySet<string> | undefined;
}

/**
 * A child's parent must be a task that has not ended (a child of an ended task would be cancelled
 * or orphaned at once). Unless the request set them, it takes its parent's priority and group.
 */
export function adoptParent(valid: ValidSubmission, request: unknown, view: FamilyView, field: string): void {
  if (valid.parentId === undefined) return;
  const parent = view.get(valid.parentId);
  if (parent === undefined || TERMINAL_STATES.has(parent.state)) {
    const rule = parent === undefined ? 'must be the id of a kept task' : `must name a task that has not ended (it is ${parent.state})`;
    throw fieldError(parent === undefined ? 'TROUPE_UNKNOWN_TASK' : 'TROUPE_INVALID_TASK', `${field}.parentId`, rule, valid.parentId);
  }
  const given = request as { priority?: unknown; group?: unknown };
  if (given.priority === undefined) valid.priority = parent.priority;
  if (given.group === undefined && parent.group !== undefined) valid.group = parent.group;
}

/**
 * True when `id` is `rootId` or a descendant of it: reached from `id` going up through `parentId`
 * (who submitted it) or `managerId` (the manager it is bound to), as `tree()` shows it.
 */
export function inSubtree(view: FamilyView, rootId: string, id: string): boolean {
  const seen = new Set<string>();
  const up = [id];
  for (let next = up.pop(); next !== undefined; next = up.pop()) {
    if (next === rootId) return true;
    const task = seen.has(next) ? undefined : view.get(next);
    if (task === undefined) continue;
    seen.add(next);
    if (task.parentId !== undefined) up.push(task.parentId);
    if (task.managerId !== undefined) up.push(task.managerId);
  }
  return false;
}

/** How many of the tasks in `ids` are in each state; undefined when there are none. */
export function stateCounts(view: FamilyView, children: ReadonlySet<string> | undefined): Partial<Record<TaskState, number>> | undefined {
  if (children === undefined) return undefined;
  const counts: Partial<Record<TaskState, number>> = {};
  for (const childId of children) {
    const state = view.get(childId)?.state;
    if (state !== undefined) counts[state] = (counts[state] ?? 0) + 1;
  }
  return counts;
}

/**
 * Where a task hangs in a tree: under the manager it is bound to (`distribute()`), else under the
 * task that submitted it.
 */
function treeChildren(view: FamilyView, id: string): string[] {
  const own = [...(view.spawnedBy(id) ?? [])].filter((c) => {
    const m = view.get(c)?.managerId;
    return m === undefined || m === id;
  });
  const bound = [...(view.boundTo(id) ?? [])].filter((c) => view.get(c)?.parentId !== id);
  return [...own, ...bound];
}

/** A task and its descendants (`Supervisor#tree()`). */
export interface TaskTree {
  task: TaskInfo;
  children: TaskTree[];
  /** Set when the tree was cut at `maxNodes`: descendants left out below this node. */
  truncated?: number;
}

/** Nodes one `tree()` answer holds at most; deeper or wider subtrees are cut (and say so). */
export const MAX_TREE_NODES = 10_000;

/** `id`'s subtree, breadth-first, at most `maxNodes` tasks; undefined for an unknown id. */
export function buildTree(view: FamilyView, id: string, maxNodes = MAX_TREE_NODES): TaskTree | undefined {
  const root = view.get(id);
  if (root === undefined) return undefined;
  const top: TaskTree = { task: withCounts(view, root), children: [] };
  const queue: TaskTree[] = [top];
  let nodes = 1;
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    const ids = treeChildren(view, node.task.id);
    for (const [n, childId] of ids.entries()) {
      const child = view.get(childId);
      if (child === undefined) continue;
      if (nodes >= maxNodes) {
        node.truncated = ids.length - n;
        break;
      }
      const sub: TaskTree = { task: withCounts(view, child), children: [] };
      node.children.push(sub);
      queue.push(sub);
      nodes += 1;
    }
  }
  return top;
}

/** The task as `get()` shows it, with its children counted. */
export function withCounts(view: FamilyView, task: TaskRecord): TaskInfo {
  const children = stateCounts(view, view.spawnedBy(task.id));
  const bound = stateCounts(view, view.boundTo(task.id));
  if (children === undefined && bound === undefined) return toTaskInfo(task);
  return { ...toTaskInfo(task), ...(children && { children }), ...(bound && { bound }) };
}

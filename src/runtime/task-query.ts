// Finding tasks: the filters `list()`, `count()` and `redriveAll()` share, as pure functions of the task table.
import { TASK_STATES, type TaskRecord, type TaskState } from '../core/task.js';
import type { ListQuery, TaskCounts, TaskFilter } from './queries.js';

/** A filter made ready to test many tasks: the search text lower-cased once. */
export interface Matcher {
  (task: TaskRecord): boolean;
}

export function matcher(filter: TaskFilter): Matcher {
  const needle = filter.search?.toLowerCase();
  return (task) =>
    (filter.agent === undefined || task.agent === filter.agent) &&
    (filter.group === undefined || task.group === filter.group) &&
    (filter.since === undefined || task.submittedAt >= filter.since) &&
    (filter.until === undefined || task.submittedAt < filter.until) &&
    (needle === undefined || mentions(task, needle));
}

/** True when `needle` (lower case) is in the task's id, names, input or error. Inputs are JSON-able (checked at submission). */
function mentions(task: TaskRecord, needle: string): boolean {
  const names = [task.id, task.key, task.name, task.agent, task.group, task.error?.code, task.error?.message];
  if (names.some((text) => text?.toLowerCase().includes(needle) === true)) return true;
  return task.input !== undefined && inputText(task.input).toLowerCase().includes(needle);
}

function inputText(input: unknown): string {
  if (typeof input === 'string') return input;
  try {
    return JSON.stringify(input) ?? '';
  } catch {
    return ''; // an input JSON cannot write (a BigInt under a memory journal) is searched by its other fields only
  }
}

/**
 * The page of tasks a list query asks for, in submission order (or its reverse with `newest`).
 * `afterSeq` is the position of the `after` task (undefined: from the start).
 */
export function selectTasks(all: Iterable<TaskRecord>, query: ListQuery, afterSeq: number | undefined): TaskRecord[] {
  const states = query.state === undefined ? undefined : new Set<TaskState>(typeof query.state === 'string' ? [query.state] : query.state);
  const test = matcher(query);
  const newest = query.newest === true;
  const matches: TaskRecord[] = [];
  for (const task of all) {
    if (afterSeq !== undefined && (newest ? task.seq >= afterSeq : task.seq <= afterSeq)) continue;
    if (states !== undefined && !states.has(task.state)) continue;
    if (test(task)) matches.push(task);
  }
  matches.sort(newest ? (a, b) => b.seq - a.seq : (a, b) => a.seq - b.seq);
  return matches.slice(0, query.limit ?? 100);
}

export function countTasks(all: Iterable<TaskRecord>, filter: TaskFilter): TaskCounts {
  const byState = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  const test = matcher(filter);
  let total = 0;
  for (const task of all) {
    if (!test(task)) continue;
    byState[task.state] += 1;
    total += 1;
  }
  return { total, byState };
}

/** Ids of the dead tasks that match `filter`, oldest first. */
export function deadMatching(dead: Iterable<TaskRecord>, filter: TaskFilter): string[] {
  const test = matcher(filter);
  return [...dead].filter(test).sort((a, b) => a.seq - b.seq).map((t) => t.id);
}

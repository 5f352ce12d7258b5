// A manager that ends hands its distributed tasks on: bound anew among the managers still running.
import type { ResolvedOptions } from '../../core/config.js';
import { assign } from '../../core/distribution.js';
import { managerLoads, type BindingView } from '../../core/manager-loads.js';
import { serializeError, TroupeError } from '../../core/errors.js';
import type { Message } from '../../core/messages.js';
import { TERMINAL_STATES, type TaskRecord } from '../../core/task.js';

/** States in which a task waits and may still change managers (a running one finishes where it runs). */
const WAITING: ReadonlySet<string> = new Set(['queued', 'delayed', 'blocked']);

/**
 * The bindings that manager `managerId`'s end causes: each task bound to it that still waits (and
 * that `movable` lets go: the Queue keeps a task it has dispatched, whose start is on its way) is
 * bound anew by its strategy among its candidates still alive (`at-dispatch`: unbound, to be bound
 * at dispatch), or is dead with TROUPE_NO_MANAGER when none is left. Pure.
 */
export function rebind(view: BindingView, options: Pick<ResolvedOptions, 'agents'>, managerId: string, movable: (task: TaskRecord) => boolean, at: number): Message[] {
  const out: Message[] = [];
  for (const id of [...(view.boundTo(managerId) ?? [])]) {
    const task = view.get(id);
    if (task === undefined || !WAITING.has(task.state) || task.managers === undefined || !movable(task)) continue;
    const alive = managerLoads(view, options, task.managers);
    if (alive.length === 0) {
      // A delayed task can only be cancelled or run: it keeps its binding and runs when due.
      if (task.state === 'delayed') continue;
      const err = new TroupeError('TROUPE_NO_MANAGER', `every manager task ${id} could run under has ended (${task.managers.join(', ')})`);
      out.push({ type: 'task.exhausted', taskId: id, error: serializeError(err), at });
      continue;
    }
    const [next] = assign(task.distribution ?? 'at-dispatch', alive, [task.hashKey ?? id], task.seq);
    out.push(next === undefined ? { type: 'task.bound', taskId: id, at } : { type: 'task.bound', taskId: id, managerId: next, at });
  }
  return out;
}

/** Managers that ended (or are gone) with tasks still waiting bound to them: what a (re)started Queue hands on. */
export function endedManagers(tasks: Iterable<TaskRecord>, view: Pick<BindingView, 'get'>): Set<string> {
  const ended = new Set<string>();
  for (const task of tasks) {
    if (task.managerId === undefined || !WAITING.has(task.state)) continue;
    const m = view.get(task.managerId);
    if (m === undefined || TERMINAL_STATES.has(m.state)) ended.add(task.managerId);
  }
  return ended;
}

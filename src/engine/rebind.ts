// A manager that ends hands its distributed tasks on: bound anew among the managers still running.
import type { ResolvedOptions } from '../core/config.js';
import { assign, type ManagerLoad } from '../core/distribution.js';
import { serializeError, TroupeError } from '../core/errors.js';
import type { Message } from '../core/messages.js';
import { ENDINGS } from './subtree.js';
import { TERMINAL_STATES, type TaskRecord } from '../core/task.js';

/** What the rebinding rule reads of the task table. */
export interface BindingView {
  get(id: string): TaskRecord | undefined;
  all(): Iterable<TaskRecord>;
  boundTo(id: string): ReadonlySet<string> | undefined;
}

const NONE: readonly Message[] = Object.freeze([]);
/** States in which a task waits and may still change managers (a running one finishes where it runs). */
const WAITING: ReadonlySet<string> = new Set(['queued', 'delayed', 'blocked']);

/** The loads of the candidates still running (or waiting to run again), for the strategies. */
export function managerLoads(view: BindingView, options: Pick<ResolvedOptions, 'agents'>, ids: readonly string[]): ManagerLoad[] {
  const out: ManagerLoad[] = [];
  for (const id of ids) {
    const m = view.get(id);
    if (m === undefined || TERMINAL_STATES.has(m.state)) continue;
    let running = 0;
    let open = 0;
    for (const t of view.boundTo(id) ?? []) {
      const state = view.get(t)?.state;
      if (state === 'running') running += 1;
      if (state !== undefined && !TERMINAL_STATES.has(state)) open += 1;
    }
    out.push({ id, capacity: m.maxChildren ?? options.agents.get(m.agent)?.maxChildren ?? Infinity, running, open });
  }
  return out;
}

/**
 * The bindings a committed message causes: when a manager ends, each task bound to it that still
 * waits is bound anew by its strategy among its candidates still alive (`at-dispatch`: unbound, to
 * be bound at dispatch), or is dead with TROUPE_NO_MANAGER when none is left. Pure.
 */
export function rebindings(view: BindingView, options: Pick<ResolvedOptions, 'agents'>, msg: Message, at: number): readonly Message[] {
  if (!ENDINGS.has(msg.type)) return NONE;
  const manager = view.get((msg as { taskId: string }).taskId);
  if (manager === undefined || !TERMINAL_STATES.has(manager.state) || view.boundTo(manager.id) === undefined) return NONE; // the usual case
  return rebind(view, options, manager.id, at);
}

/** At start: tasks still bound to managers that ended before the last stop are bound anew now. */
export function orphanBindings(view: BindingView, options: Pick<ResolvedOptions, 'agents'>, at: number): Message[] {
  const ended = new Set<string>();
  for (const task of view.all()) {
    if (task.managerId === undefined || !WAITING.has(task.state)) continue;
    const m = view.get(task.managerId);
    if (m === undefined || TERMINAL_STATES.has(m.state)) ended.add(task.managerId);
  }
  return [...ended].flatMap((id) => rebind(view, options, id, at));
}

function rebind(view: BindingView, options: Pick<ResolvedOptions, 'agents'>, managerId: string, at: number): Message[] {
  const out: Message[] = [];
  for (const id of [...(view.boundTo(managerId) ?? [])]) {
    const task = view.get(id);
    if (task === undefined || !WAITING.has(task.state) || task.managers === undefined) continue;
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

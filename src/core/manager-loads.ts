// The managers' loads as the distribution strategies weigh them, read from the task table.
import type { ResolvedOptions } from './config.js';
import type { ManagerLoad } from './distribution.js';
import { TERMINAL_STATES, type TaskRecord } from './task.js';

/** What the strategies read of the task table. */
export interface BindingView {
  get(id: string): TaskRecord | undefined;
  boundTo(id: string): ReadonlySet<string> | undefined;
}

/** The loads of the candidates that have not ended, in the order given. */
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

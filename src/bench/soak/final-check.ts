/**
 * After the drain, the daemon's own account, over its API: the tasks it still holds in a state
 * that is not final (listed per state: none may be left), and its counters since start.
 */
import type { MetricsSnapshot, TaskInfo } from '../../index.js';
import type { ApiClient } from '../workloads/daemon/http-client.js';

/** The states a task may be stuck in: everything but succeeded, dead and cancelled. */
export const OPEN_STATES = ['blocked', 'queued', 'delayed', 'running'] as const;

export interface DaemonAccount {
  /** Tasks the daemon lists in each open state (at most 1,000 counted per state). */
  open: Record<(typeof OPEN_STATES)[number], number>;
  /** Ids of a few of them, for the report. */
  openSample: string[];
  counters: { submitted: number; succeeded: number; dead: number; cancelled: number; failed: number; retried: number };
  deadLetters: number;
}

export async function daemonAccount(api: ApiClient): Promise<DaemonAccount> {
  const open = {} as DaemonAccount['open'];
  const openSample: string[] = [];
  for (const state of OPEN_STATES) {
    const { tasks } = await api.call<{ tasks: TaskInfo[] }>('GET', `/v1/tasks?state=${state}&limit=1000`);
    open[state] = tasks.length;
    openSample.push(...tasks.slice(0, 5).map((t) => `${t.id} (${t.agent}, ${t.state})`));
  }
  const snap = await api.call<MetricsSnapshot>('GET', '/v1/snapshot');
  const c = snap.counters;
  return {
    open,
    openSample,
    counters: { submitted: c.submitted, succeeded: c.succeeded, dead: c.dead, cancelled: c.cancelled, failed: c.failed, retried: c.retried },
    deadLetters: snap.queue.dead,
  };
}

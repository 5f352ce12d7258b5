/**
 * The runtime of scenario (g) and workload `distribution`: an executive, managers and specialists
 * (module agents sharing 2 threads: they only wait on timers), a journal file in a fresh directory,
 * and the runtime's own record of every run (its events, in arrival order).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Supervisor, type TroupeEvent } from '../index.js';
import { MANAGER_AGENT, SPECIALIST_AGENT } from './agents/hierarchy-executive.js';
import type { RunEvent } from './distribution-stats.js';
import { quietLogger } from './scenarios/environment.js';

export { MANAGER_AGENT, SPECIALIST_AGENT };
export const EXECUTIVE_AGENT = 'hierarchy-executive';
/** Threads of the pool (the bench machines have 2 cores). */
export const THREADS = 2;
/** Tasks one thread holds at once: every manager, specialist and the executive fit, so only `maxChildren` limits. */
const PER_THREAD = 32;

const agentModule = (name: string): string => fileURLToPath(new URL(`./agents/${name}.js`, import.meta.url));

/** An event of a task, as recorded: the stats' fields and the agent. */
export type TaskEvent = RunEvent & { agent: string };

export interface HierarchyRuntime {
  sup: Supervisor;
  /** Task events (submitted, started, ended) since the runtime was primed, in arrival order. */
  events: TaskEvent[];
  /** The managers' gate file: they succeed once it exists. */
  gate: string;
}

const RECORDED: ReadonlySet<string> = new Set(['submitted', 'started', 'succeeded', 'failed', 'dead', 'cancelled', 'requeued']);

/**
 * Runs `body` on a fresh runtime in `dir` (journal `dir/journal.db`, fsynced: every binding is
 * journaled as it is in use), shut down after. Both threads have run a specialist before `body`.
 */
export async function withHierarchyRuntime<T>(dir: string, body: (rt: HierarchyRuntime) => Promise<T>): Promise<T> {
  const sup = await Supervisor.start({
    journal: join(dir, 'journal.db'),
    durability: 'fsync',
    logger: quietLogger(),
    pool: { minThreads: THREADS, maxThreads: THREADS, concurrentTasksPerWorker: PER_THREAD },
    agents: {
      [EXECUTIVE_AGENT]: { module: agentModule('hierarchy-executive') },
      [MANAGER_AGENT]: { module: agentModule('hierarchy-manager') },
      [SPECIALIST_AGENT]: { module: agentModule('hierarchy-specialist') },
    },
  });
  try {
    const primers = await Promise.all(Array.from({ length: 2 * THREADS }, (_, i) => sup.submit({ agent: SPECIALIST_AGENT, input: { i, ms: 0 } })));
    await Promise.all(primers.map((id) => sup.result(id)));
    const events: TaskEvent[] = [];
    const subscription = sup.events$.subscribe((e: TroupeEvent) => {
      if (RECORDED.has(e.type) && 'taskId' in e && 'agent' in e) events.push({ type: e.type, taskId: e.taskId, agent: e.agent, at: e.at });
    });
    try {
      return await body({ sup, events, gate: join(dir, 'managers-done') });
    } finally {
      subscription.unsubscribe();
    }
  } finally {
    await sup.shutdown();
  }
}

/** Submits one manager per capacity (its `maxChildren`) and resolves with their ids once all run. */
export async function startManagers(rt: HierarchyRuntime, capacities: readonly number[]): Promise<string[]> {
  const ids: string[] = [];
  for (const maxChildren of capacities) ids.push(await rt.sup.submit({ agent: MANAGER_AGENT, input: { gate: rt.gate }, maxChildren }));
  for (let tries = 0; !ids.every((id) => rt.sup.get(id)?.state === 'running'); tries += 1) {
    if (tries > 6_000) throw new Error(`managers not running after 30 s: ${ids.map((id) => rt.sup.get(id)?.state).join(', ')}`);
    await sleep(5);
  }
  return ids;
}

/** Opens the managers' gate and waits for them to end (succeeded, or as they ended before). */
export async function releaseManagers(rt: HierarchyRuntime, ids: readonly string[]): Promise<void> {
  writeFileSync(rt.gate, 'done\n');
  await Promise.all(ids.map((id) => rt.sup.result(id).catch(() => undefined)));
}

/** Events of one agent's tasks. */
export function eventsOf(events: readonly TaskEvent[], agent: string): TaskEvent[] {
  return events.filter((e) => e.agent === agent);
}

// What the Supervisor's reads return: a task as `get()` and `list()` show it, counts, the agents' intake.
import type { SupervisorActor } from '../engine/supervisor-actor.js';
import { unknownTask } from '../engine/outcomes.js';
import type { AgentKind, TaskInfo, TaskRecord } from '../core/task.js';
import { withCounts } from './family.js';
import type { GetOptions, ListQuery, TaskCounts, TaskFilter } from './queries.js';
import { countTasks, selectTasks } from './task-query.js';
import { waitReason } from './waiting.js';
import { workspaceFields } from './workspace-view.js';

/** One agent as `Supervisor#agents()` shows it. */
export interface AgentInfo {
  kind: AgentKind;
  /** Its intake is paused (`pause()`): its queued tasks wait; submissions are still accepted. */
  paused: boolean;
  /** When it was paused (epoch ms), while it is. */
  pausedAt?: number;
  queued: number;
  running: number;
  /** Its tasks that may run at once (`concurrency`), null without a limit. */
  concurrency: number | null;
}

/** The task with its children counted, its worktree, why it waits and (when asked) its input. */
export function taskInfo(root: SupervisorActor, task: TaskRecord, include: GetOptions['include']): TaskInfo {
  const ledger = root.ledger;
  const info: TaskInfo = { ...withCounts(ledger, task) };
  const workspace = workspaceFields(task, root.workspaces, ledger, root.options).workspace;
  if (workspace !== undefined) info.workspace = workspace;
  const waiting = waitReason(task, { tasks: ledger, options: root.options, rates: root.rates, workspaces: root.workspaces, now: root.options.clock.now() });
  if (waiting !== undefined) info.waiting = waiting;
  // `heldBy` is the older, breaker-only form of `waiting` (kept for callers that read it).
  if (waiting?.for === 'breaker') info.heldBy = { breaker: waiting.breaker, state: waiting.state, halfOpenAt: waiting.halfOpenAt };
  if (include?.includes('input') === true && task.input !== undefined) info.input = task.input;
  return info;
}

export function listTasks(root: SupervisorActor, query: ListQuery): TaskInfo[] {
  let afterSeq: number | undefined;
  if (query.after !== undefined) {
    afterSeq = root.ledger.get(query.after)?.seq;
    if (afterSeq === undefined) throw unknownTask(query.after);
  }
  return selectTasks(root.ledger.all(), query, afterSeq).map((task) => taskInfo(root, task, query.include));
}

export function countOf(root: SupervisorActor, filter: TaskFilter): TaskCounts {
  return countTasks(root.ledger.all(), filter);
}

export function agentsInfo(root: SupervisorActor): Record<string, AgentInfo> {
  const running = new Map<string, number>();
  for (const task of root.ledger.inState('running')) running.set(task.agent, (running.get(task.agent) ?? 0) + 1);
  const queued = root.ledger.queuedByAgent();
  const paused = root.ledger.pausedAgents();
  const out: Record<string, AgentInfo> = {};
  for (const [name, agent] of root.options.agents) {
    const pausedAt = paused.get(name)?.at;
    out[name] = {
      kind: agent.kind,
      paused: pausedAt !== undefined,
      ...(pausedAt !== undefined && { pausedAt }),
      queued: queued.get(name) ?? 0,
      running: running.get(name) ?? 0,
      concurrency: agent.concurrency ?? null,
    };
  }
  return out;
}

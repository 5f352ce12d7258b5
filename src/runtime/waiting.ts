// Why a task that has not started does not run yet: read from the owners of each limit when asked
// (the task table, the recorded breakers and paused agents, the rate windows, the worktrees), never kept.
import { gateKeys } from '../actors/breaker/keys.js';
import { configuredLimits } from '../actors/queue/limits.js';
import type { RateLimits } from '../actors/queue/rate-limits.js';
import type { ResolvedOptions } from '../core/config.js';
import type { TaskRecord, WaitReason } from '../core/task.js';
import type { TaskView } from '../core/views.js';
import { breakerHold } from './breakers.js';
import { workspaceFields, type WorkspaceReader } from './workspace-view.js';

export interface WaitContext {
  tasks: TaskView;
  options: ResolvedOptions;
  rates: Pick<RateLimits, 'has' | 'room' | 'nextAt'>;
  workspaces: WorkspaceReader;
  now: number;
}

/** The first thing that holds `task` back, in the order the scheduler checks them; undefined once it runs or has ended. */
export function waitReason(task: TaskRecord, ctx: WaitContext): WaitReason | undefined {
  if (task.state === 'blocked') {
    const parents = (task.dependsOn ?? []).filter((id) => ctx.tasks.get(id)?.state !== 'succeeded');
    return { for: 'parents', parents };
  }
  if (task.state === 'delayed') return { for: 'retry', at: task.retryAt ?? ctx.now };
  if (task.state !== 'queued') return undefined;
  const paused = ctx.tasks.pausedAgents().get(task.agent);
  if (paused !== undefined) return { for: 'paused', agent: task.agent, since: paused.at };
  const hold = breakerHold(task, ctx.tasks.breakerRecords(), ctx.options, () => ctx.tasks.inState('running'));
  if (hold !== undefined) return { for: 'breaker', ...hold };
  const workspace = workspaceFields(task, ctx.workspaces, ctx.tasks, ctx.options).waiting;
  if (workspace !== undefined) return workspace;
  for (const key of gateKeys(task)) {
    if (ctx.rates.has(key) && ctx.rates.room(key, ctx.now) <= 0) return { for: 'rate-limit', key, nextAt: ctx.rates.nextAt(key, ctx.now) };
  }
  return limitReached(task, ctx) ?? { for: 'capacity' };
}

/** A concurrency limit of the task's agent, resources, group or parent (the scheduler's own, limits.ts) that its running peers fill. */
function limitReached(task: TaskRecord, ctx: WaitContext): WaitReason | undefined {
  const limits = configuredLimits(ctx.tasks, ctx.options);
  const parent = task.managerId ?? task.parentId;
  let agentRuns = 0;
  let groupRuns = 0;
  let childRuns = 0;
  const resourceRuns = new Map(task.resources.map((r) => [r, 0]));
  for (const t of ctx.tasks.inState('running')) {
    if (t.agent === task.agent) agentRuns += 1;
    if (task.group !== undefined && t.group === task.group) groupRuns += 1;
    if (parent !== undefined && (t.managerId ?? t.parentId) === parent) childRuns += 1;
    for (const r of t.resources) if (resourceRuns.has(r)) resourceRuns.set(r, resourceRuns.get(r)! + 1);
  }
  const agentLimit = limits.agentConcurrency(task.agent);
  if (agentRuns >= agentLimit) return { for: 'agent-limit', agent: task.agent, limit: agentLimit, inUse: agentRuns };
  for (const [resource, inUse] of resourceRuns) {
    const limit = limits.resourceConcurrency(resource);
    if (inUse >= limit) return { for: 'resource-limit', resource, limit, inUse };
  }
  const groupLimit = task.group === undefined ? Infinity : limits.groupConcurrency!(task.group);
  if (groupRuns >= groupLimit) return { for: 'group-limit', group: task.group!, limit: groupLimit, inUse: groupRuns };
  if (parent !== undefined) {
    const limit = (task.managerId !== undefined ? limits.managerConcurrency : limits.childConcurrency)!(parent);
    if (childRuns >= limit) return { for: 'children-limit', parent, limit, inUse: childRuns };
  }
  return undefined;
}

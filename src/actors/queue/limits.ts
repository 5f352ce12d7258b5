// The limits the scheduler enforces, read from the options and (for parents and managers) the task table.
import type { ResolvedOptions } from '../../core/config.js';
import { TERMINAL_STATES } from '../../core/task.js';
import type { TaskView } from '../../core/views.js';
import type { WorkspaceBudget } from '../../core/workspace.js';
import type { Limits } from './sched-task.js';

export function configuredLimits(
  tasks: Pick<TaskView, 'get'>,
  options: Pick<ResolvedOptions, 'agents' | 'resources' | 'groups' | 'groupConcurrency'>,
  budget?: WorkspaceBudget,
): Limits {
  const groupDefault = options.groupConcurrency ?? Infinity;
  const maxWorktrees = new Map<string, number>();
  for (const agent of options.agents.values()) {
    const ws = agent.workspace;
    if (ws !== undefined) maxWorktrees.set(ws.repo, ws.maxWorktrees ?? Infinity);
  }
  const workspaced = maxWorktrees.size === 0 ? {} : {
    workspaceOf: (agent: string) => options.agents.get(agent)?.workspace?.repo,
    workspaceConcurrency: (repo: string) => maxWorktrees.get(repo) ?? Infinity,
    workspaceHeld: (repo: string) => budget?.held(repo) === true,
  };
  return {
    ...workspaced,
    agentConcurrency: (agent) => options.agents.get(agent)?.concurrency ?? Infinity,
    resourceConcurrency: (resource) => options.resources.get(resource)?.concurrency ?? Infinity,
    groupConcurrency: (group) => options.groups.get(group)?.concurrency ?? groupDefault,
    // Fixed at the parent's submission: its own override, else its agent's option.
    childConcurrency: (parentId) => {
      const parent = tasks.get(parentId);
      return parent === undefined ? Infinity : (parent.maxChildren ?? options.agents.get(parent.agent)?.maxChildren ?? Infinity);
    },
    // Nothing more binds to a manager that has ended.
    managerConcurrency: (id) => {
      const manager = tasks.get(id);
      return manager === undefined || TERMINAL_STATES.has(manager.state) ? 0 : (manager.maxChildren ?? options.agents.get(manager.agent)?.maxChildren ?? Infinity);
    },
  };
}

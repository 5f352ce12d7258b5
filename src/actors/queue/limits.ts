// The limits the scheduler enforces, read from the options and (for parents and managers) the task table.
import type { ResolvedOptions } from '../../core/config.js';
import { TERMINAL_STATES } from '../../core/task.js';
import type { TaskView } from '../../core/views.js';
import type { Limits } from './sched-task.js';

export function configuredLimits(tasks: Pick<TaskView, 'get'>, options: Pick<ResolvedOptions, 'agents' | 'resources' | 'groups' | 'groupConcurrency'>): Limits {
  const groupDefault = options.groupConcurrency ?? Infinity;
  return {
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

// `distribute()`: tasks spread over running manager tasks by a strategy, validated whole first.
import { z } from 'zod';
import { fieldError } from '../core/errors.js';
import { assign, hashKeyOf, STRATEGIES, type Strategy } from '../core/distribution.js';
import { managerLoads, type BindingView } from '../core/manager-loads.js';
import type { ValidSubmission } from '../core/submission.js';
import { TERMINAL_STATES } from '../core/task.js';
import type { ResolvedOptions } from '../core/config.js';
import { parseWith } from './validate.js';

/** How `distribute()` spreads its tasks. */
export interface DistributeOptions {
  /** Ids of the manager tasks (each not ended, with a `maxChildren`, its own or its agent's). */
  managers: string[];
  /** Default `at-dispatch`: bound to the manager with the most free slots when it is dispatched. */
  strategy?: Strategy;
  /** For `consistent-hash`: the field of each task whose value picks its manager (`input.repo`, `group`). */
  hashField?: string;
}

/** What `distribute()` resolves with: the ids in order, and each one's manager (null until dispatch under `at-dispatch`). */
export interface Distribution {
  ids: string[];
  bindings: Record<string, string | null>;
}

const MAX_MANAGERS = 1_000;

const optionsSchema = z.strictObject({
  managers: z.array(z.string().min(1)).min(1).max(MAX_MANAGERS),
  strategy: z.enum(STRATEGIES).default('at-dispatch'),
  hashField: z.string().min(1).max(200).optional(),
});

/**
 * Checks the options against the task table and binds the validated tasks by the strategy (in
 * place: each gets its managers, strategy, hash key and, for push strategies, its manager).
 */
export function planDistribution(raw: unknown, tasks: readonly ValidSubmission[], requests: readonly unknown[], view: BindingView, options: ResolvedOptions): void {
  const parsed = parseWith(optionsSchema, raw, 'TROUPE_INVALID_OPTIONS', 'options');
  const managers = [...new Set(parsed.managers)];
  managers.forEach((id, i) => {
    const m = view.get(id);
    if (m === undefined) throw fieldError('TROUPE_UNKNOWN_TASK', `options.managers[${i}]`, 'must be the id of a kept task', id);
    if (TERMINAL_STATES.has(m.state)) throw fieldError('TROUPE_INVALID_OPTIONS', `options.managers[${i}]`, `must name a task that has not ended (it is ${m.state})`, id);
    if ((m.maxChildren ?? options.agents.get(m.agent)?.maxChildren) === undefined) {
      throw fieldError('TROUPE_INVALID_OPTIONS', `options.managers[${i}]`, `must be a task with maxChildren (its own, or agent "${m.agent}"'s)`, id);
    }
  });
  if (parsed.strategy === 'consistent-hash' && parsed.hashField === undefined) {
    throw fieldError('TROUPE_INVALID_OPTIONS', 'options.hashField', 'is required with strategy consistent-hash', undefined);
  }
  if (parsed.hashField !== undefined && parsed.strategy !== 'consistent-hash') {
    throw fieldError('TROUPE_INVALID_OPTIONS', 'options.hashField', 'applies only to strategy consistent-hash', parsed.hashField);
  }
  const keys = requests.map((r, i) => {
    if (parsed.hashField === undefined) return undefined;
    const key = hashKeyOf(r, parsed.hashField);
    if (key === undefined) throw fieldError('TROUPE_INVALID_TASK', `tasks[${i}].${parsed.hashField}`, 'must be set: it is the consistent-hash field', undefined);
    return key;
  });
  const bound = assign(parsed.strategy, managerLoads(view, options, managers), keys);
  tasks.forEach((task, i) => {
    task.managers = managers;
    task.distribution = parsed.strategy;
    if (keys[i] !== undefined) task.hashKey = keys[i];
    if (bound[i] !== undefined) task.managerId = bound[i];
  });
}

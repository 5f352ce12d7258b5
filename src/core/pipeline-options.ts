// Pipelines: routing rules that submit a task of one agent when a task of another ends.
import { z } from 'zod';
import { fieldError } from './errors.js';
import { findCycle } from './graph.js';
import { PRIORITIES, type Priority } from './task.js';

/** The endings a rule can follow: a success, or a dead letter (attempts used up, unrecoverable, failed parent). */
export const PIPELINE_EVENTS = ['succeeded', 'dead'] as const;
export type PipelineEvent = (typeof PIPELINE_EVENTS)[number];

export const pipelineRuleSchema = z.strictObject({
  /** The agent whose tasks trigger the rule. */
  from: z.string().min(1),
  /** `succeeded` (the default) or `dead`. */
  on: z.enum(PIPELINE_EVENTS).default('succeeded'),
  /** The agent of the task it submits. */
  to: z.string().min(1),
  /** Priority of the submitted task. Default: the triggering task's. */
  priority: z.enum(PRIORITIES).optional(),
  /** Resources the submitted task holds. Default none. */
  resources: z.array(z.string().min(1)).optional(),
  /**
   * The submitted task's input: `result` (default for `succeeded`): the result as it is;
   * `envelope` (always for `dead`): `{ taskId, agent, input, result | error }`.
   */
  input: z.enum(['result', 'envelope']).optional(),
});

/** One routing rule, as `Supervisor.start({ pipelines })` takes it. */
export type PipelineRuleOptions = z.input<typeof pipelineRuleSchema>;
export interface PipelineRule {
  readonly from: string;
  readonly on: PipelineEvent;
  readonly to: string;
  readonly priority?: Priority;
  readonly resources?: readonly string[];
  readonly input: 'result' | 'envelope';
}

export const pipelinesSchema = z.array(pipelineRuleSchema).max(1_000).default([]);

/**
 * Checks the rules against the configured agents and resources, and refuses rules that route in a
 * circle (a task could go round for ever); returns them with defaults applied.
 */
export function resolvePipelines(
  rules: readonly z.output<typeof pipelineRuleSchema>[],
  agents: ReadonlySet<string>,
  resources: ReadonlySet<string>,
): PipelineRule[] {
  const resolved = rules.map((rule, i): PipelineRule => {
    const field = `options.pipelines[${i}]`;
    for (const key of ['from', 'to'] as const) {
      if (!agents.has(rule[key])) throw fieldError('TROUPE_INVALID_OPTIONS', `${field}.${key}`, 'must name a configured agent', rule[key]);
    }
    rule.resources?.forEach((r, j) => {
      if (!resources.has(r)) throw fieldError('TROUPE_INVALID_OPTIONS', `${field}.resources[${j}]`, 'must name a configured resource', r);
    });
    if (rule.on === 'dead' && rule.input === 'result') {
      throw fieldError('TROUPE_INVALID_OPTIONS', `${field}.input`, 'must be "envelope" (or unset) for on: "dead": a dead task has no result', rule.input);
    }
    return { ...rule, input: rule.input ?? (rule.on === 'dead' ? 'envelope' : 'result') };
  });
  const into = new Map<string, string[]>();
  for (const r of resolved) into.set(r.to, [...(into.get(r.to) ?? []), r.from]);
  const cycle = findCycle([...agents].map((name) => ({ name, dependsOn: into.get(name) ?? [] })));
  if (cycle !== undefined) {
    throw fieldError('TROUPE_INVALID_OPTIONS', 'options.pipelines', 'must not route in a circle', cycle.reverse().join(' → '));
  }
  return resolved;
}

import { newId } from '../core/ids.js';
import type { Message } from '../core/messages.js';
import type { PipelineEvent, PipelineRule } from '../core/pipeline-options.js';
import type { AgentKind, TaskRecord } from '../core/task.js';

/** The submissions a task's ending causes under the pipeline rules, to record in the same commit. */
export type Router = (task: TaskRecord, on: PipelineEvent, at: number) => readonly Message[];

const NONE: readonly Message[] = Object.freeze([]);

/**
 * Builds the router of `rules`, or undefined when there are none (the ledger then skips routing).
 * `nextSeq` numbers the new tasks as submissions are numbered.
 */
export function makeRouter(rules: readonly PipelineRule[], kindOf: (agent: string) => AgentKind, nextSeq: () => number): Router | undefined {
  if (rules.length === 0) return undefined;
  const byTrigger = new Map<string, PipelineRule[]>();
  for (const rule of rules) {
    const key = `${rule.on}|${rule.from}`;
    byTrigger.set(key, [...(byTrigger.get(key) ?? []), rule]);
  }
  return (task, on, at) => {
    const matching = byTrigger.get(`${on}|${task.agent}`);
    if (matching === undefined) return NONE;
    return matching.map((rule): Message => ({ type: 'task.submitted', task: routedTask(rule, task, kindOf(rule.to), nextSeq(), at), at }));
  };
}

function routedTask(rule: PipelineRule, from: TaskRecord, kind: AgentKind, seq: number, at: number): TaskRecord {
  return {
    id: newId(),
    seq,
    agent: rule.to,
    kind,
    priority: rule.priority ?? from.priority,
    resources: [...(rule.resources ?? [])],
    input: routedInput(rule, from),
    origin: from.id,
    state: 'queued',
    attempt: 0,
    submittedAt: at,
  };
}

/** The routed task's input: the result, or an envelope that says where it comes from. */
function routedInput(rule: PipelineRule, from: TaskRecord): unknown {
  if (rule.input === 'result') return from.result;
  const outcome = from.state === 'succeeded' ? { result: from.result } : { error: from.error };
  return { taskId: from.id, agent: from.agent, input: from.input, ...outcome };
}

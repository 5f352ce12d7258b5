import { z } from 'zod';
import { fieldError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { PRIORITIES, type Priority } from './task.js';
import { parseWith } from './validate.js';

const submitSchema = z.strictObject({
  /** Name of a configured agent. */
  agent: z.string().min(1),
  /** Anything the structured-clone algorithm can copy (module agents) or JSON can encode (command agents). */
  input: z.unknown().optional(),
  /** `critical`, `high`, `normal` (default) or `low`. */
  priority: z.enum(PRIORITIES).default('normal'),
  /** Names of configured resources the task holds while it runs. */
  resources: z.array(z.string().min(1)).default([]),
});

/** What `Supervisor#submit()` accepts. */
export type SubmitRequest = z.input<typeof submitSchema>;

export interface ValidSubmission {
  agent: string;
  input: unknown;
  priority: Priority;
  resources: string[];
}

function checkCloneable(agent: string, kind: 'module' | 'command', input: unknown): void {
  try {
    if (kind === 'module') structuredClone(input);
    else if (input !== undefined && JSON.stringify(input) === undefined) throw new TypeError('not JSON-encodable');
  } catch (cause) {
    const rule = kind === 'module' ? `must be structured-cloneable to reach agent "${agent}"` : `must be JSON-encodable for command agent "${agent}"`;
    throw fieldError('TROUPE_UNCLONEABLE_INPUT', 'task.input', rule, input, cause);
  }
}

/** Validates a submission against the configured agents and resources. Throws a TroupeError. */
export function validateSubmission(request: unknown, options: ResolvedOptions): ValidSubmission {
  const parsed = parseWith(submitSchema, request, 'TROUPE_INVALID_TASK', 'task');
  const agent = options.agents[parsed.agent];
  if (agent === undefined) {
    const known = Object.keys(options.agents).join(', ');
    throw fieldError('TROUPE_UNKNOWN_AGENT', 'task.agent', `must name a configured agent (${known})`, parsed.agent);
  }
  const resources = [...new Set(parsed.resources)].sort();
  for (const name of resources) {
    if (options.resources[name] === undefined) {
      const known = Object.keys(options.resources).join(', ') || 'none configured';
      throw fieldError('TROUPE_UNKNOWN_RESOURCE', 'task.resources', `must name configured resources (${known})`, name);
    }
  }
  checkCloneable(parsed.agent, agent.kind, parsed.input);
  return { agent: parsed.agent, input: parsed.input, priority: parsed.priority, resources };
}

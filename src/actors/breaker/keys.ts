import type { SerializedError } from '../../core/errors.js';

/**
 * Breakers and holds are kept per key: `agent:<name>` or `resource:<name>`. A task's outcome
 * counts against its resources when it has some (the dependencies it declared are the likely
 * cause of its failures), else against its agent.
 */
export function outcomeKeys(task: { agent: string; resources: readonly string[] }): string[] {
  return task.resources.length > 0 ? task.resources.map((r) => `resource:${r}`) : [`agent:${task.agent}`];
}

export const agentKey = (agent: string): string => `agent:${agent}`;
export const resourceKey = (resource: string): string => `resource:${resource}`;

/** Every key whose breaker or hold can keep a task queued: its agent's and each of its resources'. */
export function gateKeys(task: { agent: string; resources: readonly string[] }): string[] {
  return [agentKey(task.agent), ...task.resources.map(resourceKey)];
}

/** Errors named in `ignoreErrors` (by name or code) say nothing of a dependency's health. */
export function countsAgainstBreaker(error: SerializedError, ignored: ReadonlySet<string>): boolean {
  return !ignored.has(error.name) && (error.code === undefined || !ignored.has(error.code));
}

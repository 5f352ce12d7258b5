import type { SerializedError } from '../../core/errors.js';

/**
 * Breakers and holds are kept per key: `agent:<name>` or `resource:<name>`. A task is gated by
 * every one of its keys (`gateKeys`), and its outcome counts against every one of them: a key
 * that can hold a task back must also hear how the task went, or a half-open key whose tasks all
 * count elsewhere would never get its trials and would stay half-open for ever.
 */
export const agentKey = (agent: string): string => `agent:${agent}`;
export const resourceKey = (resource: string): string => `resource:${resource}`;

/** Every key whose breaker or hold can keep a task queued, and that its outcome counts against: its agent's and each of its resources'. */
export function gateKeys(task: { agent: string; resources: readonly string[] }): string[] {
  return [agentKey(task.agent), ...task.resources.map(resourceKey)];
}

/** Errors named in `ignoreErrors` (by name or code) say nothing of a dependency's health. */
export function countsAgainstBreaker(error: SerializedError, ignored: ReadonlySet<string>): boolean {
  return !ignored.has(error.name) && (error.code === undefined || !ignored.has(error.code));
}

import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent } from 'troupe/agent';

/** What a specialist task is sent: its index, how long it works, and which manager (if any) slows it. */
export interface HierarchySpecialistInput {
  i: number;
  ms: number;
  /** A manager whose specialists work `slowFactor` times as long (workload `distribution`, case (b)). */
  slowManager?: string;
  slowFactor?: number;
}

export interface HierarchySpecialistResult {
  i: number;
  /** `ctx.managerId`: the manager the runtime says it ran under. */
  managerId: string | null;
  /** How long it worked. */
  ms: number;
}

/**
 * A specialist: waits its duration on a timer (an LLM or tool call's stand-in; the thread stays
 * free), twice as long (`slowFactor`) under the slow manager, and reports where it ran.
 */
export default defineAgent(async (input: HierarchySpecialistInput, ctx): Promise<HierarchySpecialistResult> => {
  const slow = input.slowManager !== undefined && ctx.managerId === input.slowManager;
  const ms = slow ? input.ms * (input.slowFactor ?? 2) : input.ms;
  await sleep(ms, undefined, { signal: ctx.signal });
  return { i: input.i, managerId: ctx.managerId ?? null, ms };
});

import { writeFile } from 'node:fs/promises';
import { defineAgent } from 'troupe/agent';

/** The agent names the executive submits its children as (scenario (g) registers them so). */
export const MANAGER_AGENT = 'hierarchy-manager';
export const SPECIALIST_AGENT = 'hierarchy-specialist';

export interface HierarchyExecutiveInput {
  /** The managers' gate: written once every specialist has ended, so that the managers succeed. */
  gate: string;
  managers: number;
  /** Each manager's `maxChildren`. */
  maxChildren: number;
  /** One specialist per entry, working that many ms. */
  durations: number[];
  /** `ctx.distribute`'s strategy; default at-dispatch. */
  strategy?: string;
}

export interface HierarchyExecutiveResult {
  managers: string[];
  specialists: string[];
  /** Each specialist's manager as `ctx.distribute` answered (null: bound at dispatch). */
  bindings: Record<string, string | null>;
  /** How each specialist ended, as `ctx.wait` saw it, in order. */
  specialistStates: string[];
  managerStates: string[];
}

/**
 * The executive (scenario (g)): submits its managers as children, each with its own `maxChildren`,
 * distributes the specialists over them, waits for every specialist, then releases the managers
 * and waits for them too. Children keys make a re-run of it find the same children.
 */
export default defineAgent(async (input: HierarchyExecutiveInput, ctx): Promise<HierarchyExecutiveResult> => {
  const managers: string[] = [];
  for (let m = 0; m < input.managers; m += 1) {
    managers.push(await ctx.submit({ agent: MANAGER_AGENT, input: { gate: input.gate }, maxChildren: input.maxChildren, childKey: `manager-${m}` }));
  }
  const requests = input.durations.map((ms, i) => ({ agent: SPECIALIST_AGENT, input: { i, ms }, childKey: `specialist-${i}` }));
  const { ids, bindings } = await ctx.distribute(requests, { managers, ...(input.strategy === undefined ? {} : { strategy: input.strategy }) });
  const outcomes = await ctx.wait(ids);
  await writeFile(input.gate, 'done\n');
  const ended = await ctx.wait(managers);
  return { managers, specialists: ids, bindings, specialistStates: outcomes.map((o) => o.state), managerStates: ended.map((o) => o.state) };
});

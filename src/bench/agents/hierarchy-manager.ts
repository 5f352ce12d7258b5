import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent } from 'troupe/agent';

/** What a manager task is sent: the file whose appearance tells it the work is done. */
export interface HierarchyManagerInput {
  gate: string;
}

/** How often a manager looks for its gate: cheap (one stat), and fast beside the specialists' runs. */
const POLL_MS = 10;

/**
 * A manager (scenario (g) and workload `distribution`): a long-running task that only lends its
 * `maxChildren` to the specialists distributed over it. It runs until its gate file exists, and
 * stops at once when cancelled. Many share one thread (the pool's concurrentTasksPerWorker).
 */
export default defineAgent(async (input: HierarchyManagerInput, ctx) => {
  while (!existsSync(input.gate)) await sleep(POLL_MS, undefined, { signal: ctx.signal });
  return { released: true };
});

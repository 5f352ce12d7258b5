import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent } from 'troupe/agent';

/**
 * I/O-bound demo agent standing in for an LLM reviewer: "reads" a file in `steps` steps of
 * `stepMs`, reporting progress after each, and answers with a verdict.
 */
export default defineAgent(async (input: { file: string; steps: number; stepMs: number }, ctx) => {
  for (let step = 1; step <= input.steps; step += 1) {
    await sleep(input.stepMs, undefined, { signal: ctx.signal });
    ctx.progress({ done: step, total: input.steps });
  }
  return { file: input.file, verdict: input.file.length % 3 === 0 ? 'changes requested' : 'approved' };
});

import { existsSync } from 'node:fs';
import { defineAgent } from 'troupe/agent';

/**
 * As `hold.ts` (waits until the file `input.gate` exists, or until cancelled), but logs `holding`
 * once its handler runs (bench workload `daemon`). The log reaches the main thread only after the
 * thread has registered the task's abort controller, so a caller that saw it knows a cancel will be
 * heard at once; one sent earlier can be lost, and the run is then stopped by force after its grace.
 */
export default defineAgent(async (input: { gate: string }, ctx) => {
  ctx.log('holding');
  while (!existsSync(input.gate) && !ctx.signal.aborted) await new Promise((r) => setTimeout(r, 5));
  return null;
});

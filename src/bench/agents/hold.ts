import { existsSync } from 'node:fs';
import { defineAgent } from 'troupe/agent';

/** Waits until the file `input.gate` exists, or until cancelled (bench workload `burst`). */
export default defineAgent(async (input: { gate: string }, ctx) => {
  while (!existsSync(input.gate) && !ctx.signal.aborted) await new Promise((r) => setTimeout(r, 5));
  return null;
});

import { readFileSync } from 'node:fs';
import { defineAgent } from 'troupe/agent';
import type { PhasedInput } from '../outcomes.js';

/**
 * The soak's breaker agent: every run fails while the phase file the soak flips says `fail`, and
 * succeeds while it says `ok`. Its failures count for its breaker, which opens in a failing phase
 * and closes on the first trial of the next healthy one.
 */
export default defineAgent(async (input: PhasedInput) => {
  if (readFileSync(input.phaseFile, 'utf8').trim() === 'fail') throw new Error(`phased: failing phase (task ${input.i})`);
  return input.i;
});

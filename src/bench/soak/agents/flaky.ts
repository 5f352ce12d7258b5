import { defineAgent } from 'troupe/agent';
import { runFails, SoakFlakyError, type DrawInput } from '../outcomes.js';

/**
 * The soak's failing module agent: a run fails when a hash of (task, seed, attempt) falls below
 * the rate, so whether a task ends succeeded or dead is known in advance. Its error's name is one
 * the soak's breaker ignores: these failures exercise retries, not the breaker.
 */
export default defineAgent(async (input: DrawInput, ctx) => {
  if (runFails(input, ctx.attempt)) throw new SoakFlakyError(input.i, ctx.attempt);
  return input.i;
});

import { defineAgent } from 'troupe/agent';
import { fmix32 } from '../hash.js';

export interface RandomFailInput {
  /** The task's index; returned on success. */
  i: number;
  /** Picks one reproducible set of failing runs. */
  seed: number;
  /** Probability in [0, 1] that a run fails. */
  rate: number;
}

/** A uniform-looking number in [0, 1) fixed by (i, seed, attempt): the same runs fail every time. */
export function draw(i: number, seed: number, attempt: number): number {
  const h = fmix32(fmix32(fmix32(seed ^ 0x9e3779b9) ^ i) ^ Math.imul(attempt, 0x27d4eb2d));
  return h / 0x1_0000_0000;
}

/**
 * Fails a run with probability `input.rate`, decided by a hash of the task's index, the seed and
 * the attempt (no Math.random, so every bench run fails the same runs); else returns `input.i`
 * (bench workload `failures`).
 */
export default defineAgent(async (input: RandomFailInput, ctx) => {
  if (draw(input.i, input.seed, ctx.attempt) < input.rate) {
    throw new Error(`random failure: task ${input.i}, attempt ${ctx.attempt}`);
  }
  return input.i;
});

import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent, UnrecoverableError } from 'troupe/agent';

export interface ScenarioMeteredInput {
  i: number;
  sleepMs: number;
  /** Runs 1..failRuns fail (then retried); 0: none does. */
  failRuns: number;
  /** The first run fails for good (dead at once, no retry). */
  fatal: boolean;
}

/**
 * A task whose every outcome the caller scripted (scenario `d`), so the counts the Metrics actor
 * should report are known in advance: waits `sleepMs`, then fails or returns `i`.
 */
export default defineAgent(async (input: ScenarioMeteredInput, ctx): Promise<number> => {
  await sleep(input.sleepMs);
  if (input.fatal) throw new UnrecoverableError(`scripted fatal failure of task ${input.i}`);
  if (ctx.attempt <= input.failRuns) throw new Error(`scripted failure of task ${input.i}, attempt ${ctx.attempt}`);
  return input.i;
});

import { appendFile } from 'node:fs/promises';
import { defineAgent } from 'troupe/agent';

export interface ScenarioClaimInput {
  key: string;
  /** Which of the concurrent claimers submitted the task that was recorded. */
  claimer: number;
  /** Append-only log of side effects: one line per run of the handler. */
  effects: string;
}

/**
 * The work behind a claimed key (scenario `f`): its side effect is one line appended to a shared
 * file (O_APPEND: lines from concurrent runs never interleave), so the caller can count how many
 * times the handler really ran for each key.
 */
export default defineAgent(async (input: ScenarioClaimInput): Promise<{ key: string; claimer: number }> => {
  await appendFile(input.effects, `${input.key} ${input.claimer}\n`);
  return { key: input.key, claimer: input.claimer };
});

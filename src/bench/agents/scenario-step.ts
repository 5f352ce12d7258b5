import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent } from 'troupe/agent';
import { fmix32 } from '../hash.js';

export interface ScenarioStepInput {
  workflow: number;
  step: number;
  /** The previous step's result (0 before the first step). */
  acc: number;
  /** Stands in for the step's I/O (a tool call, a model request). */
  waitMs: number;
}

/** What step `step` of `workflow` returns given the previous result; the caller replays the chain with it. */
export function nextAcc(workflow: number, step: number, acc: number): number {
  return fmix32(acc ^ Math.imul(workflow + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca77));
}

/** One step of a workflow (scenario `e`): waits, then folds its position into the running value. */
export default defineAgent(async (input: ScenarioStepInput): Promise<number> => {
  await sleep(input.waitMs);
  return nextAcc(input.workflow, input.step, input.acc);
});

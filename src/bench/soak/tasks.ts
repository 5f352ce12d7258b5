/** The `i`-th task of each kind: its submission and the outcome it is designed to have. */
import { chainDigest, drawnOutcome, type Expected, type Kind } from './outcomes.js';
import { HASH_ROUNDS, KIND_PLANS, SEED } from './plan.js';

export interface SoakTask {
  request: { agent: Kind; input: unknown; priority?: 'high' | 'low' };
  expected: Expected;
}

/** One hash task in ten is `high`, one `low`: the queue orders priorities under a steady load too. */
function priorityOf(i: number): { priority?: 'high' | 'low' } {
  return i % 10 === 0 ? { priority: 'high' } : i % 10 === 1 ? { priority: 'low' } : {};
}

export function taskOf(kind: Kind, i: number, phaseFile: string): SoakTask {
  const plan = KIND_PLANS[kind];
  switch (kind) {
    case 'hash': {
      const input = { text: `soak-${i}`, rounds: HASH_ROUNDS };
      return { request: { agent: kind, input, ...priorityOf(i) }, expected: { state: 'succeeded', result: chainDigest(input) } };
    }
    case 'flaky': {
      const input = { i, seed: SEED, rate: plan.failRate! };
      return { request: { agent: kind, input }, expected: drawnOutcome(input, plan.attempts, i) };
    }
    case 'phased':
      return { request: { agent: kind, input: { i, phaseFile } }, expected: { state: 'succeeded', result: i } };
    case 'command': {
      const input = { i, seed: SEED + 1, rate: plan.failRate! };
      return { request: { agent: kind, input }, expected: drawnOutcome(input, plan.attempts, { i }) };
    }
  }
}

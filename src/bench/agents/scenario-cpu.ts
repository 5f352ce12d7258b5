import { createHash } from 'node:crypto';
import { defineAgent } from 'troupe/agent';
import { epochNow, type RunInterval } from './scenario-interval.js';

export interface ScenarioCpuInput {
  text: string;
  rounds: number;
}

/** `rounds` chained SHA-256 digests of `text`: pure CPU work whose answer the caller can recompute. */
export function hashChain(text: string, rounds: number): string {
  let digest = text;
  for (let i = 0; i < rounds; i += 1) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}

/** A CPU-bound module agent (scenario `a`): hashes, and says when it ran. */
export default defineAgent(async (input: ScenarioCpuInput): Promise<RunInterval & { digest: string }> => {
  const startedAt = epochNow();
  const digest = hashChain(input.text, input.rounds);
  return { digest, startedAt, endedAt: epochNow() };
});

import { createHash } from 'node:crypto';
import { defineAgent } from 'troupe/agent';

/** CPU-bound demo agent: hashes `text` `rounds` times, reporting progress every quarter. */
export default defineAgent(async (input: { text: string; rounds: number }, ctx) => {
  let digest = input.text;
  const quarter = Math.max(1, Math.floor(input.rounds / 4));
  for (let i = 1; i <= input.rounds; i += 1) {
    digest = createHash('sha256').update(digest).digest('hex');
    if (i % quarter === 0) ctx.progress(i / input.rounds);
    if (ctx.signal.aborted) throw ctx.signal.reason;
  }
  return { digest: digest.slice(0, 16), rounds: input.rounds };
});

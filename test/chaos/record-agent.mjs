import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent } from 'troupe/agent';

/**
 * The crash test's agent. Its side effect is one line `${taskId} ${attempt}` appended to
 * `input.effects` per execution (O_APPEND, one write(2): a SIGKILL cannot tear a line). It then
 * works for `input.workMs` ms, so a kill often lands between the side effect and the recorded
 * outcome: that run is lost and must happen again after recovery (at-least-once).
 */
export default defineAgent(async (input, ctx) => {
  appendFileSync(input.effects, `${ctx.taskId} ${ctx.attempt}\n`);
  if (input.workMs > 0) await sleep(input.workMs);
  return { n: input.n, attempt: ctx.attempt };
});

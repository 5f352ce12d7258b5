import { defineAgent, UnrecoverableError } from 'troupe/agent';

/**
 * Demo agent for the failure paths: `fail: 'retry'` fails its first attempt and succeeds on the
 * retry; `fail: 'dead'` fails its first attempt for good, so the task becomes a dead letter, and a
 * redrive (a later attempt, as once the upstream is fixed) succeeds.
 */
export default defineAgent(async (input: { call: string; fail?: 'none' | 'retry' | 'dead' }, ctx) => {
  if (input.fail === 'dead' && ctx.attempt === 1) throw new UnrecoverableError(`${input.call}: the upstream refused the request`);
  if (input.fail === 'retry' && ctx.attempt === 1) throw new Error(`${input.call}: connection reset`);
  return { call: input.call, ok: true, attempt: ctx.attempt };
});

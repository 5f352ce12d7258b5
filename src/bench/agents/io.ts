import { setTimeout as sleep } from 'node:timers/promises';
import { defineAgent } from 'troupe/agent';

/** What the `io` workload sends: the task's id, echoed back, and how long its "I/O" lasts. */
export interface IoInput {
  id: number;
  latencyMs: number;
}

/**
 * An I/O-bound agent (bench workload `io`): it only waits, on a timer standing in for a network
 * call, so the thread is free for other tasks meanwhile. Waiting on the real clock is the point:
 * the workload measures scheduling against the known total of these waits. The wait ends early on
 * cancel, as a real request given the signal would.
 */
export default defineAgent(async (input: IoInput, ctx) => {
  await sleep(input.latencyMs, undefined, { signal: ctx.signal });
  return input.id;
});

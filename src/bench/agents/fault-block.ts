import { defineAgent } from 'troupe/agent';

/**
 * Spins on the CPU for `input.ms` without ever yielding: its thread's event loop stays blocked, so
 * the thread sends no heartbeat and the handler never sees its abort signal (bench workload
 * `faults`: stalls and timeouts). Returns how many times it looped.
 */
export default defineAgent(async (input: { ms: number }) => {
  const end = performance.now() + input.ms;
  let spins = 0;
  while (performance.now() < end) spins += 1;
  return spins;
});

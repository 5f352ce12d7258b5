import { defineAgent } from 'troupe/agent';

/**
 * Calls process.exit(1), which in a pool thread ends that thread (not the process): the task fails
 * with TROUPE_THREAD_DIED and the pool must replace the thread (bench workload `faults`).
 */
export default defineAgent(async () => {
  process.exit(1);
});

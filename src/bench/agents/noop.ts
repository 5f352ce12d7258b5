import { defineAgent } from 'troupe/agent';

/** Returns its input unchanged, so all a task costs is the runtime's dispatch (bench workload `noop`). */
export default defineAgent(async (input: unknown) => input);

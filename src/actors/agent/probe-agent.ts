import { defineAgent } from '../../core/define-agent.js';

/** What a readiness probe runs on the pool: nothing, on a real thread. */
export default defineAgent(async () => true);

/**
 * The workload's fixed parameters, shared by its sections: the pool, the agent, and how hard the
 * HTTP clients push. In one place so that the sections' method texts and their code agree.
 */

export const AGENT = 'bench';
/** Threads of the fixed-size pool (the bench machines have 2 cores). */
export const THREADS = 2;
export const POOL = { minThreads: THREADS, maxThreads: THREADS };
/** Concurrent HTTP requests a throughput client keeps in flight (its http.Agent's maxSockets). */
export const MAX_SOCKETS = 64;
/** Tasks per `POST /v1/tasks` in the batched rows. */
export const BATCH = 100;
/** Long-poll of `GET /v1/tasks/:id/result`: the API's maximum, so a poll never comes back empty. */
export const WAIT_MS = 60_000;
/** Sequential tasks that start the pool's threads and the client's connections before timing. */
export const PRIME_TASKS = 50;
/** How long an event stream may take, after the last result, to account for every task's `succeeded` event. */
export const DELIVERY_TIMEOUT_MS = 10_000;

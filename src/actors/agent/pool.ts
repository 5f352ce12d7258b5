import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { PoolConfig } from '../../core/config.js';
import { ModuleRunner, retiringAwareBalancer } from './module-runner.js';
import type { WorkerData } from './worker-protocol.js';

// A CommonJS entry that import()s worker.js: see worker-entry.cts for why.
const WORKER_URL = new URL('./worker-entry.cjs', import.meta.url).href;

/**
 * Creates the Piscina pool module agents run on. Piscina keeps `minThreads` alive (replacing
 * threads that die), adds threads up to `maxThreads` as tasks arrive and retires threads idle for
 * `idleTimeoutMs`; the Agent actor's autoscaler decides how many tasks it admits, and so how far
 * the pool grows.
 */
export function createPool(config: PoolConfig, logger: Logger, moduleUrls: string[]): ModuleRunner {
  const retiring = new Set<number>();
  // The balancer tells the runner where each task goes; the runner is made once the pool is.
  let runner: ModuleRunner | undefined;
  const workerData: WorkerData = { troupeModules: moduleUrls };
  if (config.maxTasksPerThread !== undefined) workerData.maxTasksPerThread = config.maxTasksPerThread;
  if (config.maxHeapMb !== undefined) workerData.maxHeapMb = config.maxHeapMb;
  const pool = new Piscina({
    filename: WORKER_URL,
    minThreads: config.minThreads,
    maxThreads: config.maxThreads,
    idleTimeout: config.idleTimeoutMs,
    concurrentTasksPerWorker: config.concurrentTasksPerWorker,
    // Admission is ours (credits); Piscina's own queue only ever holds what we admitted.
    maxQueue: Infinity,
    workerData,
    loadBalancer: retiringAwareBalancer(retiring, config.concurrentTasksPerWorker, (taskId, threadId) => runner?.placed(taskId, threadId)),
    ...(config.resourceLimits === undefined ? {} : { resourceLimits: config.resourceLimits }),
  });
  // Without a listener an 'error' event (a thread that failed outside a task) would crash the process.
  pool.on('error', (err: unknown) => logger.error({ err }, 'pool thread error'));
  runner = new ModuleRunner(pool, retiring);
  return runner;
}

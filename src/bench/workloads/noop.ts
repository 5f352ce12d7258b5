/**
 * Workload `noop`: what a task costs when the task itself costs nothing. Troupe against raw
 * Piscina on the same number of threads (the ceiling of per-task dispatch through a pool) and
 * against a plain in-process loop (the floor), for throughput and for latency under light load.
 */
import { DEFAULTS, type AgentContext } from '../../index.js';
import noopAgent from '../agents/noop.js';
import type { BenchOptions, Case, Measurement, Section, Workload } from '../harness.js';
import {
  burstThroughput,
  inProcess,
  prime,
  sequentialLatency,
  sequentialThroughput,
  startPiscina,
  startTroupe,
  type Target,
} from '../targets.js';

const AGENT_MODULE = new URL('../agents/noop.js', import.meta.url);
const PISCINA_WORKER = new URL('../workers/piscina-noop.js', import.meta.url);
/** Threads of the fixed-size pools (the bench machines have 2 cores). */
const THREADS = 2;
const AUTO = { min: DEFAULTS.pool.minThreads, max: DEFAULTS.pool.maxThreads };

const troupeFixed = (): Promise<Target> => startTroupe(AGENT_MODULE, { minThreads: THREADS, maxThreads: THREADS });
const troupeAuto = (): Promise<Target> => startTroupe(AGENT_MODULE, {});
const piscinaFixed = (): Promise<Target> => startPiscina(PISCINA_WORKER, { min: THREADS, max: THREADS });

/** A context for calling the handler directly; the no-op handler never touches it. */
const DIRECT_CONTEXT: AgentContext = {
  taskId: 'direct',
  attempt: 1,
  checkpoint: undefined,
  signal: new AbortController().signal,
  progress: () => {},
  heartbeat: () => {},
  log: () => {},
};

/** Starts a target, primes its initial threads, measures, and always closes it. */
async function withTarget(start: () => Promise<Target>, primeChains: number, body: (t: Target) => Promise<Measurement>): Promise<Measurement> {
  const target = await start();
  try {
    if (primeChains > 0) await prime(target, primeChains);
    return await body(target);
  } finally {
    await target.close();
  }
}

function burstCase(id: string, label: string, start: () => Promise<Target>, tasks: number, short?: string): Case {
  return {
    id,
    label,
    ...(short === undefined ? {} : { short }),
    measure: () =>
      withTarget(start, THREADS, async (t) => {
        const { tasksPerSec, elapsedMs } = await burstThroughput(t, tasks);
        return { figures: { tasksPerSec }, facts: { elapsedMs, threadsAtEnd: t.threads() ?? 0 } };
      }),
  };
}

function latencyCase(id: string, label: string, start: () => Promise<Target>, tasks: number, short?: string): Case {
  return {
    id,
    label,
    ...(short === undefined ? {} : { short }),
    measure: () =>
      withTarget(start, THREADS, async (t) => {
        const { p50Us, p99Us, meanUs } = await sequentialLatency(t, tasks);
        return { figures: { p50Us, p99Us }, facts: { meanUs } };
      }),
  };
}

export const noop: Workload = {
  name: 'noop',
  title: 'No-op tasks: per-task overhead',
  summary: 'no-op tasks through Troupe vs raw Piscina (same threads) vs an in-process loop; throughput and light-load latency',
  plan(options: BenchOptions): Section[] {
    const { tasks, latencyTasks } = options;
    const fmt = (n: number): string => n.toLocaleString('en-US');
    return [
      {
        id: 'throughput',
        title: `Throughput, ${fmt(tasks)} no-op tasks`,
        method:
          `All ${fmt(tasks)} tasks submitted at once and awaited (Troupe: submit() then result(); Piscina: run()); ` +
          `the in-process row awaits the handler ${fmt(tasks)} times in a loop. Pools start and run ` +
          `${THREADS} × 25 sequential tasks before timing; start-up and shutdown are not timed.`,
        metrics: [{ key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' }],
        baseline: 'piscina',
        cases: [
          burstCase('troupe', `Troupe, ${THREADS} threads`, troupeFixed, tasks),
          burstCase('troupe-auto', `Troupe, autoscaling ${AUTO.min}–${AUTO.max} threads (default)`, troupeAuto, tasks),
          burstCase('piscina', `Raw Piscina run(), ${THREADS} threads`, piscinaFixed, tasks, 'Piscina'),
          {
            id: 'in-process',
            label: 'In-process loop, no threads',
            measure: async () => {
              const target = inProcess((input) => noopAgent.handler(input, DIRECT_CONTEXT));
              const { tasksPerSec, elapsedMs } = await sequentialThroughput(target, tasks);
              return { figures: { tasksPerSec }, facts: { elapsedMs } };
            },
          },
        ],
      },
      {
        id: 'latency',
        title: `Latency under light load, ${fmt(latencyTasks)} tasks one at a time`,
        method:
          `Each task timed from submit()/run() to its result, the next submitted only after; ` +
          `${THREADS} threads, primed as above. p50 and p99 of each run, then the median over runs.`,
        metrics: [
          { key: 'p50Us', label: 'p50 µs', digits: 0, better: 'lower' },
          { key: 'p99Us', label: 'p99 µs', digits: 0, better: 'lower' },
        ],
        baseline: 'piscina',
        cases: [
          latencyCase('troupe', `Troupe, ${THREADS} threads`, troupeFixed, latencyTasks),
          latencyCase('piscina', `Raw Piscina run(), ${THREADS} threads`, piscinaFixed, latencyTasks, 'Piscina'),
        ],
      },
    ];
  },
};

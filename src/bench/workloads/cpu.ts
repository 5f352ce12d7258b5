/**
 * Workload `cpu`: how throughput scales with threads when the tasks do real computation. The same
 * fixed CPU work (agents/cpu-work.ts) through Troupe and through raw Piscina on 1, 2 and 4 fixed
 * threads and under each one's autoscaling (2–10 threads), plus the work called in a loop on the
 * main thread (the 1-thread floor).
 *
 * The harness divides every row by one baseline per section, so each thread count gets its own
 * section with Piscina on that many threads as the baseline. Speed-up is a figure of its own: each
 * scaling case times the same system on 1 thread and on N threads inside one measurement and
 * returns the quotient, so that the "speed-up vs Piscina" column is Troupe's speed-up ÷ Piscina's
 * speed-up, run by run, with every number in it from the same process and the same run.
 */
import { availableParallelism } from 'node:os';
import { DEFAULTS } from '../../index.js';
import { CPU_ROUNDS, cpuWork } from '../agents/cpu-work.js';
import type { BenchOptions, Case, Measurement, Metric, Section, Workload } from '../harness.js';
import { inProcess, prime, startPiscina, startTroupe, type Target } from '../targets.js';

const AGENT_MODULE = new URL('../agents/cpu.js', import.meta.url);
const PISCINA_WORKER = new URL('../workers/piscina-cpu.js', import.meta.url);
/** Fixed pool sizes measured against 1 thread: the bench machine's 2 cores, and twice that (oversubscribed). */
const SCALED_THREADS = [2, 4] as const;
const AUTO = { min: DEFAULTS.pool.minThreads, max: DEFAULTS.pool.maxThreads };
/** Sequential tasks per priming chain: loads the module and compiles the loop; each task is ~5 ms. */
const PRIME_PER_CHAIN = 10;
/**
 * The harness has no knob for this workload, and `--tasks` is sized for no-op tasks (default
 * 20,000): CPU tasks of ~5 ms get 1/100 of it (200 by default), about 1 s of work on one thread,
 * which keeps the workload near 1.5 minutes at --runs 5.
 */
const TASKS_DIVISOR = 100;
/** At least this many tasks, so that 4 threads each get several and the tail of the burst stays short. */
const MIN_TASKS = 16;

interface PoolSize {
  min: number;
  max: number;
}

/** A system under test: starts a pool of the given size, or with its defaults when none is given. */
interface System {
  name: string;
  start(size?: PoolSize): Promise<Target>;
}

const TROUPE: System = {
  name: 'Troupe',
  // No size: Troupe's own default pool options, the autoscaler as a user gets it.
  start: (size) => startTroupe(AGENT_MODULE, size === undefined ? {} : { minThreads: size.min, maxThreads: size.max }),
};

const PISCINA: System = {
  name: 'Raw Piscina run()',
  // No size: Piscina's own growth, given the same limits as Troupe's default autoscaler.
  start: (size) => startPiscina(PISCINA_WORKER, size ?? AUTO),
};

const ONE_THREAD: PoolSize = { min: 1, max: 1 };

const TASKS_PER_SEC: Metric = { key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' };
const SPEEDUP: Metric = { key: 'speedup', label: 'speed-up', digits: 2, better: 'higher' };
// Efficiency ÷ Piscina's would repeat the speed-up ratio at a fixed thread count: no ratio.
const EFFICIENCY: Metric = { key: 'efficiency', label: 'efficiency', digits: 2, better: 'higher', ratio: false };
const THREADS_USED: Metric = { key: 'threads', label: 'threads', digits: 0, better: 'higher', ratio: false };

/** Checksums computed on the main thread, once, outside any timing; index = task input. */
const expected: number[] = [];

function expectedChecksum(i: number): number {
  while (expected.length <= i) expected.push(cpuWork(expected.length));
  return expected[i]!;
}

/** A wrong checksum means work was skipped or failed: the measurement must not count. */
function verify(results: readonly unknown[]): void {
  for (let i = 0; i < results.length; i += 1) {
    const want = expectedChecksum(i);
    if (results[i] !== want) throw new Error(`bench cpu: task ${i} returned ${JSON.stringify(results[i])}, expected ${want}`);
  }
}

interface BurstResult {
  tasksPerSec: number;
  elapsedMs: number;
  /** Threads alive when the burst ended (1 in process). */
  threads: number;
}

/** Starts a target, primes `primeChains` threads (untimed), times `n` tasks submitted at once, and always closes it. */
async function timedBurst(start: () => Promise<Target>, primeChains: number, n: number): Promise<BurstResult> {
  const target = await start();
  try {
    if (primeChains > 0) await prime(target, primeChains, PRIME_PER_CHAIN);
    const t0 = performance.now();
    // In process, each run() computes before returning: one task after another on the main thread.
    const results = await Promise.all(Array.from({ length: n }, (_, i) => target.run(i)));
    const elapsedMs = performance.now() - t0;
    const threads = target.threads() ?? 1;
    verify(results);
    return { tasksPerSec: n / (elapsedMs / 1000), elapsedMs, threads };
  } finally {
    await target.close();
  }
}

const oneThread = (system: System, n: number): Promise<BurstResult> => timedBurst(() => system.start(ONE_THREAD), 1, n);

function oneThreadCase(id: string, system: System, n: number, short?: string): Case {
  return {
    id,
    label: `${system.name}, 1 thread`,
    ...(short === undefined ? {} : { short }),
    measure: async (): Promise<Measurement> => {
      const r = await oneThread(system, n);
      return { figures: { tasksPerSec: r.tasksPerSec }, facts: { elapsedMs: r.elapsedMs, threadsAtEnd: r.threads } };
    },
  };
}

function inProcessCase(n: number): Case {
  return {
    id: 'in-process',
    label: 'In-process loop, main thread',
    measure: async (): Promise<Measurement> => {
      const r = await timedBurst(async () => inProcess((seed) => cpuWork(seed as number)), 0, n);
      return { figures: { tasksPerSec: r.tasksPerSec }, facts: { elapsedMs: r.elapsedMs } };
    },
  };
}

interface ScalingSpec {
  id: string;
  label: string;
  system: System;
  /** Undefined: the system's autoscaling pool. */
  size?: PoolSize;
  /** Threads to prime: all of a fixed pool, only the initial ones of an autoscaling pool. */
  primeChains: number;
  /** Add the threads metric: the pool's size is not fixed. */
  reportThreads: boolean;
  short?: string;
}

/**
 * The system on N threads and on 1 thread, both timed in one measurement. Which goes first
 * alternates from one measurement to the next, so that drift on a shared machine does not always
 * favour the same side of the quotient.
 */
function scalingCase(spec: ScalingSpec, n: number): Case {
  let measurements = 0;
  const scaled = (): Promise<BurstResult> => timedBurst(() => spec.system.start(spec.size), spec.primeChains, n);
  return {
    id: spec.id,
    label: spec.label,
    ...(spec.short === undefined ? {} : { short: spec.short }),
    measure: async (): Promise<Measurement> => {
      const singleFirst = measurements % 2 === 0;
      measurements += 1;
      let single: BurstResult;
      let many: BurstResult;
      if (singleFirst) {
        single = await oneThread(spec.system, n);
        many = await scaled();
      } else {
        many = await scaled();
        single = await oneThread(spec.system, n);
      }
      const speedup = many.tasksPerSec / single.tasksPerSec;
      const threads = spec.size?.max ?? many.threads;
      const figures: Record<string, number> = { tasksPerSec: many.tasksPerSec, speedup, efficiency: speedup / threads };
      if (spec.reportThreads) figures['threads'] = many.threads;
      return {
        figures,
        facts: {
          elapsedMs: many.elapsedMs,
          threadsAtEnd: many.threads,
          oneThreadTasksPerSec: single.tasksPerSec,
          oneThreadElapsedMs: single.elapsedMs,
          order: singleFirst ? '1 thread first' : 'N threads first',
        },
      };
    },
  };
}

function fixedSection(threads: number, n: number, cores: number): Section {
  const size = { min: threads, max: threads };
  const over = threads > cores ? `, which oversubscribes this machine's ${cores} cores` : `; this machine has ${cores} cores`;
  return {
    id: `threads-${threads}`,
    title: `${threads} threads, ${n.toLocaleString('en-US')} CPU tasks`,
    method:
      `As above, on ${threads} fixed threads${over}. speed-up: the row's tasks/s ÷ the same system's on 1 thread, ` +
      `both timed in the same measurement (which goes first alternates); efficiency: speed-up ÷ ${threads}. ` +
      `The speed-up ratio is Troupe's speed-up ÷ Piscina's (target: at least 0.95×).`,
    metrics: [TASKS_PER_SEC, SPEEDUP, EFFICIENCY],
    baseline: 'piscina',
    cases: [
      scalingCase({ id: 'troupe', label: `Troupe, ${threads} threads`, system: TROUPE, size, primeChains: threads, reportThreads: false }, n),
      scalingCase(
        { id: 'piscina', label: `${PISCINA.name}, ${threads} threads`, system: PISCINA, size, primeChains: threads, reportThreads: false, short: 'Piscina' },
        n,
      ),
    ],
  };
}

function autoscalingSection(n: number): Section {
  const range = `${AUTO.min}–${AUTO.max}`;
  return {
    id: 'autoscaling',
    title: `Autoscaling ${range} threads, ${n.toLocaleString('en-US')} CPU tasks`,
    method:
      `Each system's growing pool with Troupe's default limits (${range} threads), primed on its ${AUTO.min} initial ` +
      `threads only, so that the burst meets a pool of ${AUTO.min} as an idle pool would be. Both grow inside the ` +
      `timed burst, and those thread start-ups are timed: Troupe's autoscaler grows to fit the queue as soon as work ` +
      `waits with every thread busy, Piscina starts a thread whenever a task waits. threads: live threads when the ` +
      `burst ends; efficiency: speed-up ÷ those threads. speed-up as above, against 1 thread.`,
    metrics: [TASKS_PER_SEC, SPEEDUP, THREADS_USED, EFFICIENCY],
    baseline: 'piscina-auto',
    cases: [
      scalingCase(
        { id: 'troupe-auto', label: `Troupe, autoscaling ${range} threads (default)`, system: TROUPE, primeChains: AUTO.min, reportThreads: true },
        n,
      ),
      scalingCase(
        {
          id: 'piscina-auto',
          label: `${PISCINA.name}, autoscaling ${range} threads`,
          system: PISCINA,
          primeChains: AUTO.min,
          reportThreads: true,
          short: 'Piscina',
        },
        n,
      ),
    ],
  };
}

export const cpu: Workload = {
  name: 'cpu',
  title: 'CPU scaling: fixed-work CPU tasks on 1, 2, 4 threads and autoscaling',
  summary: 'CPU-bound tasks through Troupe vs raw Piscina on 1, 2, 4 threads and autoscaling; speed-up and efficiency',
  plan(options: BenchOptions): Section[] {
    const n = Math.max(MIN_TASKS, Math.round(options.tasks / TASKS_DIVISOR));
    const cores = availableParallelism();
    return [
      {
        id: 'threads-1',
        title: `1 thread, ${n.toLocaleString('en-US')} CPU tasks`,
        method:
          `${n.toLocaleString('en-US')} tasks of fixed CPU work (${CPU_ROUNDS.toLocaleString('en-US')} xorshift32 rounds ` +
          `hashed with FNV-1a, ~5 ms each) submitted at once and awaited (Troupe: submit() then result(); Piscina: ` +
          `run()); every result is checked against the checksum computed on the main thread. Pools start and run ` +
          `${PRIME_PER_CHAIN} sequential tasks per thread before timing; start-up and shutdown are not timed. The ` +
          `in-process row calls the same function on the main thread, one task after another: no dispatch at all.`,
        metrics: [TASKS_PER_SEC],
        baseline: 'piscina',
        cases: [oneThreadCase('troupe', TROUPE, n), oneThreadCase('piscina', PISCINA, n, 'Piscina'), inProcessCase(n)],
      },
      ...SCALED_THREADS.map((threads) => fixedSection(threads, n, cores)),
      autoscalingSection(n),
    ];
  },
};

/**
 * Workload `io`: I/O-bound agents. 1,000 simulated agents in flight at all times, each waiting a
 * lognormal latency (median 200 ms) on a timer, through Troupe (module agent, 500 tasks per
 * thread on 2 threads), Troupe with an fsynced journal, p-queue in one thread (the baseline: what
 * one would use for I/O-bound work without threads) and raw Piscina with the same threads and
 * per-thread concurrency. Each is scored against the ideal: the same closed loop with zero
 * scheduling overhead, computed from the latencies it actually ran.
 */
import { setMaxListeners } from 'node:events';
import { directContext } from '../direct-context.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import type { AgentContext, SupervisorOptions } from '../../index.js';
import ioAgent, { type IoInput } from '../agents/io.js';
import { closedLoop, idealMakespan } from '../closed-loop.js';
import type { BenchOptions, Case, Measurement, Metric, Section, Workload } from '../harness.js';
import { lognormalSample } from '../lognormal.js';
import { mean, percentile } from '../stats.js';
import { startTroupe, type Target } from '../targets.js';

const AGENT_MODULE = new URL('../agents/io.js', import.meta.url);
const PISCINA_WORKER = new URL('../workers/piscina-io.js', import.meta.url);
/** Simulated agents waiting at any moment. */
const IN_FLIGHT = 1_000;
/**
 * Tasks per measurement: 10 waves of 1,000, about 2.6 s of ideal makespan, so that a full run of
 * the workload stays within minutes. Fixed rather than `--tasks`, whose default (20,000) is sized
 * for no-op tasks.
 */
const TASKS = 10_000;
/** Threads of the fixed-size pools (the bench machines have 2 cores). */
const THREADS = 2;
/** Tasks per thread, so that all 1,000 in flight fit on the pool at once. */
const PER_THREAD = IN_FLIGHT / THREADS;
/** Latencies: median 200 ms, sigma 0.5 (p99 about 3.2× the median), fixed seed. */
const LATENCY = { median: 200, sigma: 0.5, seed: 0x10b0_0d1e } as const;
/** Closed-loop tasks run before timing, at 1 ms each: threads started, code paths warm. */
const PRIME_TASKS = 2 * IN_FLIGHT;

/**
 * A context for calling the handler directly on the main thread (the p-queue row). Every call in
 * flight listens on its one never-aborted signal, so the listener limit (meant to catch leaks)
 * is lifted.
 */
const DIRECT_SIGNAL = new AbortController().signal;
setMaxListeners(0, DIRECT_SIGNAL);
const DIRECT_CONTEXT: AgentContext = directContext(DIRECT_SIGNAL);

/** A raw Piscina pool on the io worker, with as many tasks per thread as the Troupe row. */
function startPiscinaIo(): Promise<Target> {
  const pool = new Piscina({
    filename: PISCINA_WORKER.href,
    minThreads: THREADS,
    maxThreads: THREADS,
    concurrentTasksPerWorker: PER_THREAD,
    idleTimeout: 30_000,
  });
  return Promise.resolve({
    run: (input) => pool.run(input),
    threads: () => pool.threads.length,
    close: () => pool.destroy(),
  });
}

/** p-queue in this thread, loaded on demand (a dev dependency); the handler awaits the same timer. */
async function startPQueue(): Promise<Target> {
  const { default: PQueue } = await import('p-queue');
  // The driver never has more than IN_FLIGHT outstanding, so this limit is a cap, never a queue.
  const queue = new PQueue({ concurrency: IN_FLIGHT });
  return {
    run: (input) => queue.add(() => ioAgent.handler(input as IoInput, DIRECT_CONTEXT)),
    threads: () => undefined,
    close: async () => {
      await queue.onIdle();
    },
  };
}

/** Whether p-queue can be resolved; its row is left out (with a note on stderr) when it cannot. */
function pQueueAvailable(): boolean {
  try {
    import.meta.resolve('p-queue');
    return true;
  } catch {
    process.stderr.write("troupe bench io: p-queue is not installed (a dev dependency); its baseline row is skipped\n");
    return false;
  }
}

/** Troupe with a module agent, 2 fixed threads × PER_THREAD tasks, optionally with an fsynced journal file. */
function troupeStarter(journaled: boolean): { start(): Promise<Target>; cleanup(): void } {
  const dir = journaled ? mkdtempSync(join(tmpdir(), 'troupe-bench-io-')) : undefined;
  const journal: Pick<SupervisorOptions, 'journal' | 'durability'> =
    dir === undefined ? { journal: ':memory:' } : { journal: join(dir, 'journal.db'), durability: 'fsync' };
  const pool = { minThreads: THREADS, maxThreads: THREADS, concurrentTasksPerWorker: PER_THREAD };
  return {
    start: () => startTroupe(AGENT_MODULE, pool, journal),
    cleanup: () => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The inputs of a closed loop over `latencies`: task i waits latencies[i] and returns i. */
function inputsOf(latencies: readonly number[]): IoInput[] {
  return latencies.map((latencyMs, id) => ({ id, latencyMs }));
}

/** Runs the closed loop on `target` and reduces it to the section's figures. */
async function measureLoop(target: Target, latencies: readonly number[], idealMs: number): Promise<Measurement> {
  const inputs = inputsOf(latencies);
  const elu0 = performance.eventLoopUtilization();
  const { elapsedMs, endToEndMs, results } = await closedLoop(inputs.length, IN_FLIGHT, (i) => target.run(inputs[i]));
  const mainElu = performance.eventLoopUtilization(elu0).utilization;
  checkEcho(results);
  // What each task waited beyond its own latency: dispatch, messages, the timer's own lateness.
  const overheadMs = endToEndMs.map((e2e, i) => e2e - latencies[i]!);
  // The first wave is submitted in one burst at the start; later tasks trickle in as others end.
  const firstWave = overheadMs.slice(0, IN_FLIGHT);
  const later = overheadMs.slice(IN_FLIGHT);
  return {
    figures: {
      tasksPerSec: inputs.length / (elapsedMs / 1000),
      pctOfIdeal: (100 * idealMs) / elapsedMs,
      overheadMeanMs: mean(overheadMs),
      overheadFirstWaveMs: mean(firstWave),
      overheadLaterMs: later.length === 0 ? 0 : mean(later),
      overheadP99Ms: percentile(overheadMs, 99),
    },
    facts: {
      elapsedMs,
      idealMakespanMs: idealMs,
      // The makespan's excess spread over the tasks, as if every slot lost the same time.
      makespanExcessMsPerTask: ((elapsedMs - idealMs) * IN_FLIGHT) / inputs.length,
      // Share of the timed loop the main thread's event loop was busy: near 1, it is the bottleneck.
      mainThreadElu: mainElu,
      threadsAtEnd: target.threads() ?? 0,
    },
  };
}

/** One measured system: started, primed, timed, closed, its journal removed. */
function systemCase(
  id: string,
  label: string,
  starter: () => { start(): Promise<Target>; cleanup(): void },
  latencies: readonly number[],
  idealMs: number,
  short?: string,
): Case {
  return {
    id,
    label,
    ...(short === undefined ? {} : { short }),
    measure: async () => {
      const { start, cleanup } = starter();
      try {
        const target = await start();
        try {
          await prime(target);
          return await measureLoop(target, latencies, idealMs);
        } finally {
          await target.close();
        }
      } finally {
        cleanup();
      }
    },
  };
}

/** Untimed: two waves of 1 ms tasks through the same closed loop. */
async function prime(target: Target): Promise<void> {
  const { results } = await closedLoop(PRIME_TASKS, IN_FLIGHT, (i) => target.run({ id: i, latencyMs: 1 }));
  checkEcho(results);
}

/** Every task returns its id; anything else means the bench measured a failure. */
function checkEcho(results: readonly unknown[]): void {
  for (let i = 0; i < results.length; i += 1) {
    if (results[i] !== i) throw new Error(`bench io: task ${i} returned ${JSON.stringify(results[i])}, expected ${i}`);
  }
}

/** The reference row: the zero-overhead closed loop, computed, not measured. */
function idealCase(tasks: number, idealMs: number): Case {
  return {
    id: 'ideal',
    label: `Ideal: zero-overhead closed loop (computed)`,
    measure: async () => ({
      figures: {
        tasksPerSec: tasks / (idealMs / 1000),
        pctOfIdeal: 100,
        overheadMeanMs: 0,
        overheadFirstWaveMs: 0,
        overheadLaterMs: 0,
        overheadP99Ms: 0,
      },
      facts: { idealMakespanMs: idealMs },
    }),
  };
}

const METRICS: Metric[] = [
  { key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' },
  // Ratios of these to p-queue's would repeat the tasks/s ratio, or divide by a near-zero overhead.
  { key: 'pctOfIdeal', label: '% of ideal', digits: 1, better: 'higher', ratio: false },
  { key: 'overheadMeanMs', label: 'overhead ms', digits: 2, better: 'lower', ratio: false },
  { key: 'overheadFirstWaveMs', label: 'wave-1 overhead ms', digits: 2, better: 'lower', ratio: false },
  { key: 'overheadLaterMs', label: 'later overhead ms', digits: 2, better: 'lower', ratio: false },
  { key: 'overheadP99Ms', label: 'p99 overhead ms', digits: 2, better: 'lower', ratio: false },
];

export const io: Workload = {
  name: 'io',
  title: 'I/O-bound agents: 1,000 in flight, lognormal latency',
  summary: 'I/O-bound tasks (timer waits, lognormal, median 200 ms), 1,000 in flight: Troupe vs p-queue vs raw Piscina, against the ideal',
  plan(_options: BenchOptions): Section[] {
    const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    const latencies = lognormalSample(TASKS, LATENCY);
    const idealMs = idealMakespan(latencies, IN_FLIGHT);
    const meanLatency = mean(latencies);
    const steadyIdeal = IN_FLIGHT / (meanLatency / 1000);
    const withPQueue = pQueueAvailable();
    const memory = (): ReturnType<typeof troupeStarter> => troupeStarter(false);
    const fsync = (): ReturnType<typeof troupeStarter> => troupeStarter(true);
    const inMain = (start: () => Promise<Target>) => () => ({ start, cleanup: () => {} });
    const cases: Case[] = [
      systemCase('troupe', `Troupe, module agent, ${THREADS} threads × ${PER_THREAD}`, memory, latencies, idealMs),
      systemCase('troupe-fsync', `Troupe, journal 'fsync', ${THREADS} threads × ${PER_THREAD}`, fsync, latencies, idealMs),
      ...(withPQueue ? [systemCase('p-queue', 'p-queue, one thread, concurrency 1,000', inMain(startPQueue), latencies, idealMs, 'p-queue')] : []),
      systemCase('piscina', `Raw Piscina run(), ${THREADS} threads × ${PER_THREAD}`, inMain(startPiscinaIo), latencies, idealMs),
      idealCase(TASKS, idealMs),
    ];
    return [
      {
        id: 'throughput',
        title: `${fmt(TASKS)} I/O-bound tasks, ${fmt(IN_FLIGHT)} in flight, lognormal latency (median ${LATENCY.median} ms, σ ${LATENCY.sigma})`,
        method:
          `A closed loop keeps exactly ${fmt(IN_FLIGHT)} tasks outstanding and starts the next as each completes ` +
          `(Troupe: submit() then result(); Piscina: run(); p-queue: add()), so every system sees the same offered load ` +
          `whatever its own queueing. Task i waits latencies[i] on a timer (setTimeout) and returns i; the ` +
          `${fmt(TASKS)} latencies are drawn once (seeded mulberry32, Box–Muller) in the main process and sent as input, ` +
          `identical for every system and run: mean ${fmt(meanLatency, 1)} ms, p50 ${fmt(percentile(latencies, 50), 1)}, ` +
          `p99 ${fmt(percentile(latencies, 99), 1)}, max ${fmt(Math.max(...latencies), 1)}. Ideal: the same loop with zero ` +
          `overhead, simulated on those latencies: makespan ${fmt(idealMs)} ms (steady state ${fmt(IN_FLIGHT)} ÷ mean latency = ` +
          `${fmt(steadyIdeal)} tasks/s; the drain at the end costs the rest). % of ideal: ideal makespan ÷ elapsed. ` +
          `Overhead: per task, end-to-end time − its own latency (includes the timer's own lateness, which p-queue shows alone); ` +
          `its mean over all tasks, over the first ${fmt(IN_FLIGHT)} (wave 1: submitted in one burst at the start) and over ` +
          `the rest (later: each submitted as another ends), and its p99. Each system starts and runs ${fmt(PRIME_TASKS)} 1 ms tasks through the loop before timing; ` +
          `start-up and shutdown are not timed; the journal goes to a fresh directory in ${tmpdir()}.`,
        metrics: METRICS,
        ...(withPQueue ? { baseline: 'p-queue' } : {}),
        cases,
      },
    ];
  },
};

/**
 * The systems a workload measures, behind one interface, and the timed loops shared by workloads.
 * Every `start*` function does its set-up before returning, so none of it is timed.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Supervisor, type SupervisorOptions } from '../index.js';
import type { Case, Measurement } from './harness.js';
import { latencyFigures } from './stats.js';
import { allocatedDuring } from './allocation.js';

export interface Target {
  /** Runs one task to completion and resolves with its result. */
  run(input: unknown): Promise<unknown>;
  /** Pool threads alive now, where that means something. */
  threads(): number | undefined;
  close(): Promise<void>;
}

const AGENT = 'bench';

/** A Troupe target, with the journal's commit count (0 without a journal). */
export interface TroupeTarget extends Target {
  commits(): number;
}

/** A Troupe runtime with one module agent, started and probed; no journal unless `journal` names a file. */
export async function startTroupe(
  agentModule: URL,
  pool: SupervisorOptions['pool'],
  journal: Pick<SupervisorOptions, 'journal' | 'durability'> = {},
): Promise<TroupeTarget> {
  const sup = await Supervisor.start({ ...journal, pool, agents: { [AGENT]: { module: fileURLToPath(agentModule) } } });
  return {
    // What a caller writes: submit, then wait for the result.
    run: (input) => sup.submit({ agent: AGENT, input }).then((id) => sup.result(id)),
    threads: () => sup.snapshot().pool.size,
    commits: () => sup.snapshot().journal?.commits ?? 0,
    close: async () => {
      await sup.shutdown();
    },
  };
}

/** A raw Piscina pool on `worker`, configured as Troupe configures its own (one task per thread). */
export async function startPiscina(worker: URL, threads: { min: number; max: number }): Promise<Target> {
  const pool = new Piscina({
    filename: worker.href,
    minThreads: threads.min,
    maxThreads: threads.max,
    concurrentTasksPerWorker: 1,
    idleTimeout: 30_000,
  });
  return {
    run: (input) => pool.run(input),
    threads: () => pool.threads.length,
    close: () => pool.destroy(),
  };
}

/** The handler called directly on the main thread: no pool, no messages. */
export function inProcess(fn: (input: unknown) => unknown): Target {
  return {
    run: async (input) => fn(input),
    threads: () => undefined,
    close: async () => {},
  };
}

/**
 * Untimed: `chains` concurrent chains of `perChain` sequential tasks, so that every initial thread
 * has started, loaded its module and run some tasks before timing, without ever queueing more work
 * than there are threads (which would make an autoscaling pool grow before it is measured).
 */
export async function prime(target: Target, chains: number, perChain = 25): Promise<void> {
  await Promise.all(
    Array.from({ length: chains }, async (_, c) => {
      for (let i = 0; i < perChain; i += 1) await target.run(c * perChain + i);
    }),
  );
}

/** All `n` tasks in flight at once; resolves with tasks per second. Checks every result. */
export async function burstThroughput(target: Target, n: number): Promise<{ tasksPerSec: number; elapsedMs: number }> {
  const inputs = Array.from({ length: n }, (_, i) => i);
  const t0 = performance.now();
  const results = await Promise.all(inputs.map((i) => target.run(i)));
  const elapsedMs = performance.now() - t0;
  checkEcho(results);
  return { tasksPerSec: n / (elapsedMs / 1000), elapsedMs };
}

/** One task after another; resolves with tasks per second. Checks every result. */
export async function sequentialThroughput(target: Target, n: number): Promise<{ tasksPerSec: number; elapsedMs: number }> {
  const results = new Array<unknown>(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1) results[i] = await target.run(i);
  const elapsedMs = performance.now() - t0;
  checkEcho(results);
  return { tasksPerSec: n / (elapsedMs / 1000), elapsedMs };
}

/** One task at a time, each timed from the call to its result; p50, p99 and mean in microseconds. */
export async function sequentialLatency(target: Target, n: number): Promise<{ p50Us: number; p99Us: number; meanUs: number }> {
  const durations = new Array<number>(n);
  const results = new Array<unknown>(n);
  for (let i = 0; i < n; i += 1) {
    const t0 = performance.now();
    results[i] = await target.run(i);
    durations[i] = performance.now() - t0;
  }
  checkEcho(results);
  return latencyFigures(durations);
}

/** The no-op tasks return their input, the index; anything else means the bench measured a failure. */
function checkEcho(results: readonly unknown[]): void {
  for (let i = 0; i < results.length; i += 1) {
    if (results[i] !== i) throw new Error(`bench: task ${i} returned ${JSON.stringify(results[i])}, expected ${i}`);
  }
}

/** Facts a target reports about itself (BullMQ, plainjob: versions, settings); none for the others. */
export function targetFacts(t: Target): Record<string, string | number> {
  const withFacts = t as Target & { facts?: () => Record<string, string | number> };
  return typeof withFacts.facts === 'function' ? withFacts.facts() : {};
}

/** Starts a target, primes it with `primeChains` chains (none: 0), measures, and always closes it. */
export async function withTarget(start: () => Promise<Target>, primeChains: number, body: (t: Target) => Promise<Measurement>): Promise<Measurement> {
  const target = await start();
  try {
    if (primeChains > 0) await prime(target, primeChains);
    return await body(target);
  } finally {
    await target.close();
  }
}

/** A row measured on a fresh, primed target by `body`. */
function targetCase(id: string, label: string, start: () => Promise<Target>, primeChains: number, short: string | undefined, body: (t: Target) => Promise<Measurement>): Case {
  return { id, label, ...(short === undefined ? {} : { short }), measure: () => withTarget(start, primeChains, body) };
}

/** A row of a throughput section: `tasks` at once on a fresh target (figure `tasksPerSec`). */
export function burstCase(id: string, label: string, start: () => Promise<Target>, tasks: number, primeChains: number, short?: string): Case {
  return targetCase(id, label, start, primeChains, short, async (t) => {
    const { tasksPerSec, elapsedMs } = await burstThroughput(t, tasks);
    return { figures: { tasksPerSec }, facts: { elapsedMs, threadsAtEnd: t.threads() ?? 0, ...targetFacts(t) } };
  });
}

/** A row of a light-load section: `tasks` one at a time on a fresh target (figures `p50Us`, `p99Us`). */
export function latencyCase(id: string, label: string, start: () => Promise<Target>, tasks: number, primeChains: number, short?: string): Case {
  return targetCase(id, label, start, primeChains, short, async (t) => {
    const { p50Us, p99Us, meanUs } = await sequentialLatency(t, tasks);
    return { figures: { p50Us, p99Us }, facts: { meanUs, ...targetFacts(t) } };
  });
}

/**
 * A row of an allocation section: `tasks` at once on a fresh target, the main thread's allocation
 * counted meanwhile (figure `bytesPerTask`; the profiler slows the run, so it times nothing).
 */
export function allocationCase(id: string, label: string, start: () => Promise<Target>, tasks: number, primeChains: number, short?: string): Case {
  return targetCase(id, label, start, primeChains, short, async (t) => {
    (globalThis as { gc?: () => void }).gc?.();
    const bytes = await allocatedDuring(async () => {
      await burstThroughput(t, tasks);
    });
    return { figures: { bytesPerTask: bytes / tasks }, facts: { bytes, ...targetFacts(t) } };
  });
}

/**
 * Workload `noop`: what a task costs when the task itself costs nothing. Troupe (without a
 * journal and with one at 'process' and 'fsync') against raw Piscina on the same number of
 * threads (the ceiling of per-task dispatch through a pool), a plain in-process loop (the floor)
 * and BullMQ on a local Redis, for throughput and for latency under light load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, type AgentContext } from '../../index.js';
import noopAgent from '../agents/noop.js';
import { bullmqUnavailable, redisClientName, startBullMQ, type BullMQKind } from '../bullmq.js';
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

/**
 * Jobs BullMQ's inline Worker runs at once. Its processor is async on the main thread, so this
 * only overlaps Redis round trips: throughput rose up to 16 and stayed flat to 128 here.
 */
const BULLMQ_INLINE_CONCURRENCY = 32;
/** BullMQ's events per job (added, waiting, active, completed), with room to spare. */
const BULLMQ_EVENTS_PER_JOB = 8;

const FIXED = { minThreads: THREADS, maxThreads: THREADS };
const troupeFixed = (): Promise<Target> => startTroupe(AGENT_MODULE, FIXED);
const troupeAuto = (): Promise<Target> => startTroupe(AGENT_MODULE, {});
const piscinaFixed = (): Promise<Target> => startPiscina(PISCINA_WORKER, { min: THREADS, max: THREADS });

/** Troupe on a fresh journal file in the temp directory; closing it removes the file and its WAL. */
async function troupeJournaled(durability: 'process' | 'fsync'): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    const target = await startTroupe(AGENT_MODULE, FIXED, { journal: join(dir, 'journal.db'), durability });
    return {
      ...target,
      close: async () => {
        try {
          await target.close();
        } finally {
          remove();
        }
      },
    };
  } catch (err) {
    remove();
    throw err;
  }
}

/** BullMQ on a Redis of its own (started and stopped with the target, untimed). */
function bullmq(kind: BullMQKind, tasks: number): () => Promise<Target> {
  const concurrency = kind === 'inline' ? BULLMQ_INLINE_CONCURRENCY : THREADS;
  return () => startBullMQ({ kind, concurrency, maxEvents: Math.max(10_000, tasks * BULLMQ_EVENTS_PER_JOB) });
}

/** Facts a target reports about itself (BullMQ: versions, Redis client). */
function targetFacts(t: Target): Record<string, string | number> {
  const withFacts = t as Target & { facts?: () => Record<string, string | number> };
  return typeof withFacts.facts === 'function' ? withFacts.facts() : {};
}

let skipNoted = false;

/** Why the BullMQ rows are skipped, printed to stderr once per process; undefined when they run. */
function bullmqSkip(): string | undefined {
  const reason = bullmqUnavailable();
  if (reason !== undefined && !skipNoted) {
    skipNoted = true;
    process.stderr.write(`troupe bench noop: BullMQ rows ${reason}\n`);
  }
  return reason;
}

/** The same case, with `facts` added to each of its measurements (a skip reason, for the JSON). */
function withFacts(c: Case, facts: Record<string, string>): Case {
  return {
    ...c,
    measure: async () => {
      const m = await c.measure();
      return { ...m, facts: { ...m.facts, ...facts } };
    },
  };
}

/** The BullMQ rows when they can run; otherwise none, and the reason on every other row's facts. */
function withBullMQ(cases: Case[], bullmqCases: () => Case[], skip: string | undefined): Case[] {
  return skip === undefined ? [...cases, ...bullmqCases()] : cases.map((c) => withFacts(c, { bullmq: skip }));
}

/** A context for calling the handler directly; the no-op handler never touches it. */
const DIRECT_CONTEXT: AgentContext = {
  taskId: 'direct',
  attempt: 1,
  checkpoint: undefined,
  parents: {},
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
        return { figures: { tasksPerSec }, facts: { elapsedMs, threadsAtEnd: t.threads() ?? 0, ...targetFacts(t) } };
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
        return { figures: { p50Us, p99Us }, facts: { meanUs, ...targetFacts(t) } };
      }),
  };
}

export const noop: Workload = {
  name: 'noop',
  title: 'No-op tasks: per-task overhead',
  summary:
    'no-op tasks through Troupe (journal at memory, process, fsync) vs raw Piscina (same threads) vs an in-process loop vs BullMQ on a local Redis; throughput and light-load latency',
  plan(options: BenchOptions): Section[] {
    const { tasks, latencyTasks } = options;
    const skip = bullmqSkip();
    const inlineLabel = `BullMQ inline (Redis, concurrency ${BULLMQ_INLINE_CONCURRENCY})`;
    const sandboxedLabel = `BullMQ sandboxed, ${THREADS} worker threads`;
    return [
      {
        id: 'throughput',
        title: `Throughput, ${fmt(tasks)} no-op tasks`,
        method:
          `All ${fmt(tasks)} tasks submitted at once and awaited (Troupe: submit() then result(); Piscina: run()` +
          `${skip === undefined ? '; BullMQ: queue.add() then its completion' : ''}); the in-process row awaits the handler ${fmt(tasks)} times in a loop. ` +
          `Pools start and run ${THREADS} × 25 sequential tasks before timing; start-up and shutdown are not timed. ` +
          `Journal rows: a fresh file in ${tmpdir()} per measurement, removed after. ` +
          bullmqMethod(skip, tasks),
        metrics: [{ key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' }],
        baseline: 'piscina',
        cases: withBullMQ(
          [
            burstCase('troupe', `Troupe, ${THREADS} threads, no journal (':memory:')`, troupeFixed, tasks),
            burstCase('troupe-process', `Troupe, ${THREADS} threads, journal 'process'`, () => troupeJournaled('process'), tasks),
            burstCase('troupe-fsync', `Troupe, ${THREADS} threads, journal 'fsync' (default)`, () => troupeJournaled('fsync'), tasks),
            burstCase('troupe-auto', `Troupe, autoscaling ${AUTO.min}–${AUTO.max} threads, no journal`, troupeAuto, tasks),
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
          () => [
            burstCase('bullmq-inline', inlineLabel, bullmq('inline', tasks), tasks),
            burstCase('bullmq-sandboxed', sandboxedLabel, bullmq('sandboxed', tasks), tasks),
          ],
          skip,
        ),
      },
      {
        id: 'latency',
        title: `Latency under light load, ${fmt(latencyTasks)} tasks one at a time`,
        method:
          `Each task timed from submit()/run()/add() to its result, the next submitted only after; ` +
          `${THREADS} threads, primed as above. p50 and p99 of each run, then the median over runs.` +
          (skip === undefined ? ' BullMQ as above.' : ` BullMQ rows ${skip}.`),
        metrics: [
          { key: 'p50Us', label: 'p50 µs', digits: 0, better: 'lower' },
          { key: 'p99Us', label: 'p99 µs', digits: 0, better: 'lower' },
        ],
        baseline: 'piscina',
        cases: withBullMQ(
          [
            latencyCase('troupe', `Troupe, ${THREADS} threads, no journal (':memory:')`, troupeFixed, latencyTasks),
            latencyCase('troupe-fsync', `Troupe, ${THREADS} threads, journal 'fsync' (default)`, () => troupeJournaled('fsync'), latencyTasks),
            latencyCase('piscina', `Raw Piscina run(), ${THREADS} threads`, piscinaFixed, latencyTasks, 'Piscina'),
          ],
          () => [
            latencyCase('bullmq-inline', inlineLabel, bullmq('inline', latencyTasks), latencyTasks),
            latencyCase('bullmq-sandboxed', sandboxedLabel, bullmq('sandboxed', latencyTasks), latencyTasks),
          ],
          skip,
        ),
      },
    ];
  },
};

/** How the BullMQ rows are measured, or why they are not there. */
function bullmqMethod(skip: string | undefined, tasks: number): string {
  if (skip !== undefined) return `BullMQ rows ${skip}.`;
  return (
    `BullMQ: a redis-server started per measurement on a free loopback port (no persistence; untimed), a Queue, a Worker and ` +
    `one QueueEvents on a queue of their own, Redis client: ${redisClientName()}; each task is one queue.add() with its own ` +
    `job id, and one 'completed' listener resolves the task's promise (what job.waitUntilFinished() does, without two listeners ` +
    `per job); jobs are removed on completion, the event stream holds ${fmt(Math.max(10_000, tasks * BULLMQ_EVENTS_PER_JOB))} events. ` +
    `Inline: an async processor on the main thread, concurrency ${BULLMQ_INLINE_CONCURRENCY} (throughput flat from 16 to 128 here). ` +
    `Sandboxed: the processor in a file, useWorkerThreads, concurrency ${THREADS}, which is ${THREADS} threads (BullMQ runs one job per sandbox thread).`
  );
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Workload `noop`: what a task costs when the task itself costs nothing. Troupe (without a
 * journal and with one at 'process' and 'fsync') against raw Piscina on the same number of
 * threads (the ceiling of per-task dispatch through a pool), a plain in-process loop (the floor),
 * BullMQ on a local Redis (without persistence, and with an AOF fsynced on every write) and
 * plainjob on SQLite, for throughput and for latency under light load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { directContext } from '../direct-context.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, type AgentContext } from '../../index.js';
import noopAgent from '../agents/noop.js';
import { baselineRows, baselineSkips, bullmqMethod, plainjobMethod, withBaselines } from '../baselines.js';
import type { BenchOptions, Section, Workload } from '../harness.js';
import { allocationCase, burstCase, inProcess, latencyCase, sequentialThroughput, startPiscina, startTroupe, type Target } from '../targets.js';

const AGENT_MODULE = new URL('../agents/noop.js', import.meta.url);
const PISCINA_WORKER = new URL('../workers/piscina-noop.js', import.meta.url);
/** Threads of the fixed-size pools (the bench machines have 2 cores). */
const THREADS = 2;
const AUTO = { min: DEFAULTS.pool.minThreads, max: DEFAULTS.pool.maxThreads };

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

/** A context for calling the handler directly; the no-op handler never touches it. */
const DIRECT_CONTEXT: AgentContext = directContext(new AbortController().signal);

export const noop: Workload = {
  name: 'noop',
  title: 'No-op tasks: per-task overhead',
  summary:
    'no-op tasks through Troupe (journal at memory, process, fsync) vs raw Piscina (same threads) vs an in-process loop vs BullMQ on a local Redis (with and without AOF) vs plainjob on SQLite; throughput, light-load latency and main-thread allocation per task',
  plan(options: BenchOptions): Section[] {
    const { tasks, latencyTasks } = options;
    const skips = baselineSkips('noop');
    const adds =
      (skips.bullmq === undefined ? '; BullMQ: queue.add() then its completion' : '') +
      (skips.plainjob === undefined ? '; plainjob: add() then its completion' : '');
    return [
      {
        id: 'throughput',
        title: `Throughput, ${fmt(tasks)} no-op tasks`,
        method:
          `All ${fmt(tasks)} tasks submitted at once and awaited (Troupe: submit() then result(); Piscina: run()${adds}); ` +
          `the in-process row awaits the handler ${fmt(tasks)} times in a loop. ` +
          `Pools${adds === '' ? '' : ' and queues'} start and run ${THREADS} × 25 sequential tasks before timing; start-up and shutdown are not timed. ` +
          `Journal rows: a fresh file in ${tmpdir()} per measurement, removed after. ` +
          `${bullmqMethod(skips.bullmq, tasks, THREADS, true)} ${plainjobMethod(skips.plainjob)}`,
        metrics: [{ key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' }],
        baseline: 'piscina',
        cases: withBaselines(
          [
            burstCase('troupe', `Troupe, ${THREADS} threads, no journal (':memory:')`, troupeFixed, tasks, THREADS),
            burstCase('troupe-process', `Troupe, ${THREADS} threads, journal 'process'`, () => troupeJournaled('process'), tasks, THREADS),
            burstCase('troupe-fsync', `Troupe, ${THREADS} threads, journal 'fsync' (default)`, () => troupeJournaled('fsync'), tasks, THREADS),
            burstCase('troupe-auto', `Troupe, autoscaling ${AUTO.min}–${AUTO.max} threads, no journal`, troupeAuto, tasks, THREADS),
            burstCase('piscina', `Raw Piscina run(), ${THREADS} threads`, piscinaFixed, tasks, THREADS, 'Piscina'),
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
          skips,
          baselineRows(burstCase, tasks, THREADS, true),
        ),
      },
      {
        id: 'latency',
        title: `Latency under light load, ${fmt(latencyTasks)} tasks one at a time`,
        method:
          `Each task timed from submit()/run()/add() to its result, the next submitted only after; ` +
          `${THREADS} threads${skips.plainjob === undefined ? ' or workers' : ''}, primed as above. p50 and p99 of each run, then the median over runs.` +
          (skips.bullmq === undefined ? ' BullMQ as above.' : ` BullMQ rows ${skips.bullmq}.`) +
          (skips.plainjob === undefined ? ' plainjob as above.' : ` plainjob rows ${skips.plainjob}.`),
        metrics: [
          { key: 'p50Us', label: 'p50 µs', digits: 0, better: 'lower' },
          { key: 'p99Us', label: 'p99 µs', digits: 0, better: 'lower' },
        ],
        baseline: 'piscina',
        cases: withBaselines(
          [
            latencyCase('troupe', `Troupe, ${THREADS} threads, no journal (':memory:')`, troupeFixed, latencyTasks, THREADS),
            latencyCase('troupe-fsync', `Troupe, ${THREADS} threads, journal 'fsync' (default)`, () => troupeJournaled('fsync'), latencyTasks, THREADS),
            latencyCase('piscina', `Raw Piscina run(), ${THREADS} threads`, piscinaFixed, latencyTasks, THREADS, 'Piscina'),
          ],
          skips,
          baselineRows(latencyCase, latencyTasks, THREADS, true),
        ),
      },
      {
        id: 'allocation',
        title: `Main-thread allocation, ${fmt(tasks)} no-op tasks`,
        method:
          `The throughput run again on a fresh, primed target, with V8's sampling heap profiler counting every object ` +
          `allocated on the main thread, freed ones included (one sample per 256 bytes on average); pool threads are other ` +
          `isolates and not counted. Bytes per task = allocated ÷ tasks.`,
        metrics: [{ key: 'bytesPerTask', label: 'bytes/task', digits: 0, better: 'lower' }],
        baseline: 'piscina',
        cases: [
          allocationCase('troupe', `Troupe, ${THREADS} threads, no journal (':memory:')`, troupeFixed, tasks, THREADS),
          allocationCase('troupe-fsync', `Troupe, ${THREADS} threads, journal 'fsync' (default)`, () => troupeJournaled('fsync'), tasks, THREADS),
          allocationCase('piscina', `Raw Piscina run(), ${THREADS} threads`, piscinaFixed, tasks, THREADS, 'Piscina'),
        ],
      },
    ];
  },
};

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

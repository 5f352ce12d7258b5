/**
 * Workload `durability`: what the journal costs. No-op tasks through Troupe without a journal
 * (':memory:', durability 'memory'), with a journal file under 'process' (committed, not synced)
 * and under 'fsync' (synced before submit() and results are acknowledged), for throughput, journal
 * commits per task and latency under light load. The disk's own fsync cost is measured first.
 * Beside them, what other queues pay for their durability on the same disk: BullMQ on a Redis
 * without persistence and on one with an AOF fsynced on every write, and plainjob on SQLite
 * (synchronous=NORMAL, its default).
 */
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SupervisorOptions } from '../../index.js';
import { baselineRows, baselineSkips, bullmqMethod, plainjobMethod, withBaselines } from '../baselines.js';
import type { BenchOptions, Case, Measurement, Section, Workload } from '../harness.js';
import { isFsyncCost, probeFsync } from '../fsync-probe.js';
import {
  burstCase as targetBurstCase,
  burstThroughput,
  latencyCase as targetLatencyCase,
  prime,
  sequentialLatency,
  startTroupe,
  type TroupeTarget,
} from '../targets.js';

const AGENT_MODULE = new URL('../agents/noop.js', import.meta.url);
/** Threads of the fixed-size pools (the bench machines have 2 cores). */
const THREADS = 2;

type Mode = 'memory' | 'process' | 'fsync';

const MODES: readonly { mode: Mode; label: string; short?: string }[] = [
  { mode: 'memory', label: `No journal (':memory:'), ${THREADS} threads`, short: 'memory' },
  { mode: 'process', label: `Journal, 'process', ${THREADS} threads` },
  { mode: 'fsync', label: `Journal, 'fsync' (default), ${THREADS} threads` },
];

/** The disk's own cost, from the probe every `troupe bench` also prints (see fsync-probe.ts). */
function diskNote(): string {
  const probe = probeFsync();
  if (!isFsyncCost(probe)) return `Journal files go to a fresh directory in ${probe.path} per measurement, removed after (its fsync could not be measured: ${probe.error}).`;
  const us = (n: number): string => Math.round(n).toLocaleString('en-US');
  return (
    `Journal files go to a fresh directory in ${probe.path} (${probe.fileSystem}) per measurement, removed after; ` +
    `one 4 KiB write + fdatasync there takes ${us(probe.medianUs)} µs (p50; p99 ${us(probe.p99Us)} µs; ` +
    `${probe.samples} measured when the workload started).`
  );
}

/**
 * Counts calls to `fs.fdatasync` while `body` runs: under 'fsync' the runtime's group commits sync
 * the WAL with it (SQLite's own syncs, at checkpoints, are native and not counted).
 */
async function countingFdatasync<T>(body: (syncs: () => number) => Promise<T>): Promise<T> {
  const original = fs.fdatasync;
  let syncs = 0;
  fs.fdatasync = ((...args: Parameters<typeof original>) => {
    syncs += 1;
    return original(...args);
  }) as typeof original;
  syncBuiltinESMExports(); // the named import in the journal module sees the counter too
  try {
    return await body(() => syncs);
  } finally {
    fs.fdatasync = original;
    syncBuiltinESMExports();
  }
}

/** A Troupe target with the journal's commits and the WAL syncs so far. */
interface Journaled {
  target: TroupeTarget;
  /** Commits and fdatasyncs so far. */
  counts(): { commits: number; syncs: number };
}

/** Runs `body` on a Troupe target in `mode`: a fresh journal file per call, removed after. */
function withDurability(mode: Mode, body: (t: Journaled) => Promise<Measurement>): Promise<Measurement> {
  return countingFdatasync((syncs) => withJournal(mode, (target) => body({ target, counts: () => ({ commits: target.commits(), syncs: syncs() }) })));
}

async function withJournal(mode: Mode, body: (t: TroupeTarget) => Promise<Measurement>): Promise<Measurement> {
  const dir = mode === 'memory' ? undefined : mkdtempSync(join(tmpdir(), 'troupe-bench-'));
  const journal: Pick<SupervisorOptions, 'journal' | 'durability'> =
    dir === undefined ? { journal: ':memory:' } : { journal: join(dir, 'journal.db'), durability: mode as 'process' | 'fsync' };
  try {
    const target = await startTroupe(AGENT_MODULE, { minThreads: THREADS, maxThreads: THREADS }, journal);
    try {
      await prime(target, THREADS);
      return await body(target);
    } finally {
      await target.close();
    }
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function burstCase(mode: Mode, label: string, tasks: number, short?: string): Case {
  return {
    id: mode,
    label,
    ...(short === undefined ? {} : { short }),
    measure: () =>
      withDurability(mode, async ({ target, counts }) => {
        const before = counts();
        const { tasksPerSec, elapsedMs } = await burstThroughput(target, tasks);
        const { commits, syncs } = since(before, counts());
        return {
          figures: { tasksPerSec, commitsPerTask: commits / tasks, syncsPerTask: syncs / tasks },
          facts: { elapsedMs, commits, syncs, threadsAtEnd: target.threads() ?? 0 },
        };
      }),
  };
}

function latencyCase(mode: Mode, label: string, tasks: number, short?: string): Case {
  return {
    id: mode,
    label,
    ...(short === undefined ? {} : { short }),
    measure: () =>
      withDurability(mode, async ({ target, counts }) => {
        const before = counts();
        const { p50Us, p99Us, meanUs } = await sequentialLatency(target, tasks);
        const { commits, syncs } = since(before, counts());
        return {
          figures: { p50Us, p99Us, commitsPerTask: commits / tasks, syncsPerTask: syncs / tasks },
          facts: { meanUs, commits, syncs },
        };
      }),
  };
}

function since(before: { commits: number; syncs: number }, after: { commits: number; syncs: number }): { commits: number; syncs: number } {
  return { commits: after.commits - before.commits, syncs: after.syncs - before.syncs };
}

/** Troupe's own counters: the baselines' rows have none (a dash in the tables). */
const COMMITS_PER_TASK = { key: 'commitsPerTask', label: 'commits/task', digits: 2, better: 'lower', ratio: false, optional: true } as const;
const SYNCS_PER_TASK = { key: 'syncsPerTask', label: 'syncs/task', digits: 2, better: 'lower', ratio: false, optional: true } as const;


/** What the commit and sync counts are, and why the baselines have none. */
const COUNTS_NOTE =
  `commits/task and syncs/task count Troupe's own journal; the other queues' rows have none (–): Redis without ` +
  `persistence writes nothing to disk, with appendfsync always it fsyncs its AOF once per event-loop turn that wrote, and ` +
  `plainjob's SQLite commits every add() and every status change, syncing only at checkpoints.`;

export const durability: Workload = {
  name: 'durability',
  title: 'Durability: what the journal costs per no-op task',
  summary:
    "no-op tasks without a journal vs a journal file under 'process' and 'fsync', beside BullMQ (Redis with and without AOF) and plainjob (SQLite); throughput, commits per task, light-load latency",
  plan(options: BenchOptions): Section[] {
    const { tasks, latencyTasks } = options;
    const fmt = (n: number): string => n.toLocaleString('en-US');
    const disk = diskNote();
    const skips = baselineSkips('durability');
    const others = `${bullmqMethod(skips.bullmq, tasks, THREADS, false)} ${plainjobMethod(skips.plainjob)}`;
    const anyOther = skips.bullmq === undefined || skips.plainjob === undefined;
    return [
      {
        id: 'throughput',
        title: `Throughput, ${fmt(tasks)} no-op tasks, by durability`,
        method:
          `All ${fmt(tasks)} tasks submitted at once and awaited (submit() then result()` +
          `${anyOther ? "; the other queues: add() then the job's completion" : ''}); pools${anyOther ? ' and queues' : ''} start and run ` +
          `${THREADS} × 25 sequential tasks before timing; start-up and shutdown are not timed. ` +
          `commits/task: journal transactions (batches) committed while timing ÷ tasks; syncs/task: the runtime's ` +
          `fdatasync calls on the WAL ÷ tasks (under 'fsync' one covers every batch written before it; SQLite's own ` +
          `syncs at checkpoints are not counted).${anyOther ? ` ${COUNTS_NOTE}` : ''} ${disk} ${others}`,
        metrics: [{ key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' }, COMMITS_PER_TASK, SYNCS_PER_TASK],
        baseline: 'memory',
        cases: withBaselines(
          MODES.map((m) => burstCase(m.mode, m.label, tasks, m.short)),
          skips,
          baselineRows(targetBurstCase, tasks, THREADS),
        ),
      },
      {
        id: 'latency',
        title: `Latency under light load, ${fmt(latencyTasks)} tasks one at a time, by durability`,
        method:
          `Each task timed from submit()${anyOther ? ' (the other queues: add())' : ''} to its result, the next submitted only after; ` +
          `${THREADS} threads${anyOther ? ' or workers' : ''}, primed as above. p50 and p99 of each run, then the median over runs; ` +
          `commits/task and syncs/task as above.` +
          (skips.bullmq === undefined ? ' BullMQ as above.' : ` BullMQ rows ${skips.bullmq}.`) +
          (skips.plainjob === undefined ? ' plainjob as above.' : ` plainjob rows ${skips.plainjob}.`),
        metrics: [
          { key: 'p50Us', label: 'p50 µs', digits: 0, better: 'lower' },
          { key: 'p99Us', label: 'p99 µs', digits: 0, better: 'lower' },
          COMMITS_PER_TASK,
          SYNCS_PER_TASK,
        ],
        baseline: 'memory',
        cases: withBaselines(
          MODES.map((m) => latencyCase(m.mode, m.label, latencyTasks, m.short)),
          skips,
          baselineRows(targetLatencyCase, latencyTasks, THREADS),
        ),
      },
    ];
  },
};

/**
 * Workload `durability`: what the journal costs. No-op tasks through Troupe without a journal
 * (':memory:', durability 'memory'), with a journal file under 'process' (committed, not synced)
 * and under 'fsync' (synced before submit() and results are acknowledged), for throughput, journal
 * commits per task and latency under light load. The disk's own fsync cost is measured first.
 */
import fs, { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SupervisorOptions } from '../../index.js';
import type { BenchOptions, Case, Measurement, Section, Workload } from '../harness.js';
import { percentile } from '../stats.js';
import { burstThroughput, prime, sequentialLatency, startTroupe, type TroupeTarget } from '../targets.js';

const AGENT_MODULE = new URL('../agents/noop.js', import.meta.url);
/** Threads of the fixed-size pools (the bench machines have 2 cores). */
const THREADS = 2;
/** Writes of 4 KiB, each followed by fdatasync, that measure the disk. */
const FSYNC_PROBES = 200;

type Mode = 'memory' | 'process' | 'fsync';

const MODES: readonly { mode: Mode; label: string; short?: string }[] = [
  { mode: 'memory', label: `No journal (':memory:'), ${THREADS} threads`, short: 'memory' },
  { mode: 'process', label: `Journal, 'process', ${THREADS} threads` },
  { mode: 'fsync', label: `Journal, 'fsync' (default), ${THREADS} threads` },
];

/** Names of common Linux filesystems by their statfs magic number. */
const FS_TYPES: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  0x6969: 'nfs',
};

/**
 * Untimed by the harness: `FSYNC_PROBES` appends of 4 KiB to a fresh file in the temp directory,
 * each followed by fdatasync, as a journal commit would; the median and p99 of one append + sync.
 */
function diskFsyncCost(): { dir: string; fs: string; p50Us: number; p99Us: number } {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-'));
  try {
    const fd = openSync(join(dir, 'probe'), 'w');
    const block = Buffer.alloc(4096, 0x5a);
    const durations: number[] = [];
    try {
      for (let i = 0; i < FSYNC_PROBES; i += 1) {
        const t0 = performance.now();
        writeSync(fd, block);
        fdatasyncSync(fd);
        durations.push(performance.now() - t0);
      }
    } finally {
      closeSync(fd);
    }
    const type = statfsSync(dir).type;
    return {
      dir: tmpdir(),
      fs: FS_TYPES[type] ?? `fs type 0x${type.toString(16)}`,
      p50Us: percentile(durations, 50) * 1000,
      p99Us: percentile(durations, 99) * 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

const COMMITS_PER_TASK = { key: 'commitsPerTask', label: 'commits/task', digits: 2, better: 'lower', ratio: false } as const;
const SYNCS_PER_TASK = { key: 'syncsPerTask', label: 'syncs/task', digits: 2, better: 'lower', ratio: false } as const;

export const durability: Workload = {
  name: 'durability',
  title: 'Durability: what the journal costs per no-op task',
  summary: "no-op tasks without a journal vs a journal file under 'process' and 'fsync'; throughput, commits per task, light-load latency",
  plan(options: BenchOptions): Section[] {
    const { tasks, latencyTasks } = options;
    const fmt = (n: number): string => n.toLocaleString('en-US');
    const disk = diskFsyncCost();
    const diskNote =
      `Journal files go to a fresh directory in ${disk.dir} (${disk.fs}) per measurement, removed after; ` +
      `one 4 KiB write + fdatasync there takes ${fmt(Math.round(disk.p50Us))} µs (p50; p99 ${fmt(Math.round(disk.p99Us))} µs; ` +
      `${FSYNC_PROBES} measured when the workload started).`;
    return [
      {
        id: 'throughput',
        title: `Throughput, ${fmt(tasks)} no-op tasks, by durability`,
        method:
          `All ${fmt(tasks)} tasks submitted at once and awaited (submit() then result()); pools start and run ` +
          `${THREADS} × 25 sequential tasks before timing; start-up and shutdown are not timed. ` +
          `commits/task: journal transactions (batches) committed while timing ÷ tasks; syncs/task: the runtime's ` +
          `fdatasync calls on the WAL ÷ tasks (under 'fsync' one covers every batch written before it; SQLite's own ` +
          `syncs at checkpoints are not counted). ${diskNote}`,
        metrics: [{ key: 'tasksPerSec', label: 'tasks/s', digits: 0, better: 'higher' }, COMMITS_PER_TASK, SYNCS_PER_TASK],
        baseline: 'memory',
        cases: MODES.map((m) => burstCase(m.mode, m.label, tasks, m.short)),
      },
      {
        id: 'latency',
        title: `Latency under light load, ${fmt(latencyTasks)} tasks one at a time, by durability`,
        method:
          `Each task timed from submit() to its result, the next submitted only after; ${THREADS} threads, primed ` +
          `as above. p50 and p99 of each run, then the median over runs; commits/task and syncs/task as above.`,
        metrics: [
          { key: 'p50Us', label: 'p50 µs', digits: 0, better: 'lower' },
          { key: 'p99Us', label: 'p99 µs', digits: 0, better: 'lower' },
          COMMITS_PER_TASK,
          SYNCS_PER_TASK,
        ],
        baseline: 'memory',
        cases: MODES.map((m) => latencyCase(m.mode, m.label, latencyTasks, m.short)),
      },
    ];
  },
};

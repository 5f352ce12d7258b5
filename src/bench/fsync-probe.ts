/**
 * The disk's fsync cost where a journal would live: appends of 4 KiB to a fresh file, each followed
 * by fdatasync, as a journal commit under durability 'fsync' does. Reported beside every figure,
 * because a run's durable figures mean little without the cost of one sync on the same disk.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentileOfSorted } from './stats.js';

/** One append + sync is 4 KiB: a SQLite page, the smallest write a commit makes. */
const BLOCK_BYTES = 4096;

export interface FsyncProbeOptions {
  /** Directory to probe; the journals the bench creates go to os.tmpdir(), so that is the default. */
  dir?: string;
  /** Timed append + sync pairs. */
  samples?: number;
  /** Untimed pairs first: the first syncs of a new file also allocate its blocks and journal its inode. */
  warmup?: number;
}

/** What the probe measured, as the JSON results keep it. */
export interface FsyncCost {
  /** The directory probed (a fresh subdirectory of it held the file). */
  path: string;
  /** The file system's name from statfs(2), or its magic number when unknown. */
  fileSystem: string;
  method: 'write 4 KiB + fdatasync';
  warmup: number;
  samples: number;
  medianUs: number;
  p99Us: number;
  minUs: number;
  maxUs: number;
}

/** When the probe could not run (a read-only or full temp dir): the reason, in place of figures. */
export interface FsyncFailure {
  path: string;
  error: string;
}

export type FsyncProbe = FsyncCost | FsyncFailure;

export const isFsyncCost = (p: FsyncProbe): p is FsyncCost => !('error' in p);

/** Names of common Linux file systems by their statfs magic number. */
const FS_TYPES: Record<number, string> = {
  0xef53: 'ext4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  0x6969: 'nfs',
  0xf2f52010: 'f2fs',
  0x65735546: 'fuse',
};

export function fileSystemName(magic: number): string {
  return FS_TYPES[magic] ?? `fs type 0x${magic.toString(16)}`;
}

/** Pure: the figures the probe reports from its per-sync durations in milliseconds. */
export function reduceFsyncSamples(durationsMs: readonly number[]): Pick<FsyncCost, 'samples' | 'medianUs' | 'p99Us' | 'minUs' | 'maxUs'> {
  if (durationsMs.length === 0) throw new RangeError('fsync probe: no samples');
  const sorted = [...durationsMs].sort((a, b) => a - b);
  // Nearest-rank median rather than the mean of two middles: every figure is one observed sync.
  const us = (ms: number): number => Math.round(ms * 1000 * 10) / 10;
  return {
    samples: sorted.length,
    medianUs: us(percentileOfSorted(sorted, 50)),
    p99Us: us(percentileOfSorted(sorted, 99)),
    minUs: us(sorted[0]!),
    maxUs: us(sorted[sorted.length - 1]!),
  };
}

/** Times `samples` append + fdatasync pairs on an open file, after `warmup` untimed ones. */
function timeSyncs(fd: number, warmup: number, samples: number): number[] {
  const block = Buffer.alloc(BLOCK_BYTES, 0x5a);
  for (let i = 0; i < warmup; i += 1) {
    writeSync(fd, block);
    fdatasyncSync(fd);
  }
  const durations: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const t0 = performance.now();
    writeSync(fd, block);
    fdatasyncSync(fd);
    durations.push(performance.now() - t0);
  }
  return durations;
}

/**
 * Measures the fsync cost in `dir` (synchronously: a sync call on the main thread is what the
 * journal's latency path pays, with no event-loop delay added). Never throws: a probe that cannot
 * run returns its reason, so a read-only temp dir does not stop the benchmark.
 */
export function probeFsync(options: FsyncProbeOptions = {}): FsyncProbe {
  const path = options.dir ?? tmpdir();
  const warmup = options.warmup ?? 20;
  const samples = options.samples ?? 200;
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(path, 'troupe-fsync-'));
    const fd = openSync(join(dir, 'probe'), 'w');
    let durations: number[];
    try {
      durations = timeSyncs(fd, warmup, samples);
    } finally {
      closeSync(fd);
    }
    const fileSystem = fileSystemName(statfsSync(dir).type);
    return { path, fileSystem, method: 'write 4 KiB + fdatasync', warmup, ...reduceFsyncSamples(durations) };
  } catch (err) {
    return { path, error: (err as Error).message ?? String(err) };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

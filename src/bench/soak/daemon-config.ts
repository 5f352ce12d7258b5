/**
 * The daemon's config file for the soak, written into its temp directory: the four agents (three
 * module agents on a fixed pool, one command agent run as a node subprocess), a breaker that the
 * phased agent trips within seconds and that closes soon after, and retention on.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../../index.js';
import { KIND_PLANS, THREADS, type Timings } from './plan.js';
import type { Kind } from './outcomes.js';

const agentFile = (name: string): string => fileURLToPath(new URL(`./agents/${name}.js`, import.meta.url));

/** Retry backoff of each kind: short, so that retries happen within the run. */
const BACKOFF: Record<Kind, { initialMs: number; factor: number; maxMs: number; jitter: number }> = {
  hash: { initialMs: 100, factor: 2, maxMs: 1_000, jitter: 0.2 },
  flaky: { initialMs: 50, factor: 2, maxMs: 500, jitter: 0.2 },
  phased: { initialMs: 200, factor: 2, maxMs: 2_000, jitter: 0.2 },
  command: { initialMs: 100, factor: 2, maxMs: 500, jitter: 0.2 },
};

const retry = (kind: Kind) => ({ attempts: KIND_PLANS[kind].attempts, backoff: BACKOFF[kind] });

/** The breaker every agent gets: 5 failures in a row open it for 1 s, then 2, then at most 4 s. */
export const BREAKER = {
  failureThreshold: 5,
  failureRate: 0.5,
  minimumCalls: 10,
  windowMs: 10_000,
  resetTimeoutMs: 1_000,
  resetBackoffFactor: 2,
  maxResetTimeoutMs: 4_000,
  halfOpenTrials: 1,
  ignoreErrors: [...DEFAULTS.breaker.ignoreErrors, 'SoakFlakyError'],
};

export interface DaemonFiles {
  config: string;
  journal: string;
  socket: string;
  /** What the phased agent reads: `ok` or `fail`. */
  phaseFile: string;
}

/** Writes the config (and the phase file, `ok`) into `dir`; returns the paths the soak needs. */
export function writeDaemonConfig(dir: string, t: Timings): DaemonFiles {
  const files = { config: join(dir, 'soak.config.json'), journal: join(dir, 'journal.db'), socket: join(dir, 'troupe.sock'), phaseFile: join(dir, 'phase') };
  writeFileSync(files.phaseFile, 'ok');
  const config = {
    journal: files.journal,
    durability: 'fsync',
    socket: files.socket,
    logLevel: 'warn',
    shutdownTimeoutMs: 5_000,
    pool: { minThreads: THREADS, maxThreads: THREADS },
    retention: t.retention,
    breaker: BREAKER,
    agents: {
      hash: { module: agentFile('hash'), retry: retry('hash') },
      flaky: { module: agentFile('flaky'), retry: retry('flaky') },
      phased: { module: agentFile('phased'), concurrency: 2, retry: retry('phased') },
      command: { command: process.execPath, args: [agentFile('command')], concurrency: 2, retry: retry('command') },
    },
  };
  writeFileSync(files.config, `${JSON.stringify(config, null, 2)}\n`);
  return files;
}

/**
 * The daemon under test: started in this process in a fresh temp directory, listening on a Unix
 * socket and on TCP with a bearer token, and the endpoints a client reaches it by.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { RequestOptions } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { configFrom } from '../../../daemon/index.js';
import { startDaemon, type RunningDaemon } from '../../../daemon/index.js';
import type { Supervisor } from '../../../index.js';
import type { Case, Measurement } from '../../harness.js';
import { AGENT, POOL } from './params.js';

const NOOP_MODULE = fileURLToPath(new URL('../../agents/noop.js', import.meta.url));
/** The TCP listener's bearer token (at least 16 characters). */
const TOKEN = randomBytes(24).toString('hex');

export interface DaemonSetup {
  /** A journal file in the temp directory (default fsync); otherwise ':memory:'. */
  journalFile?: boolean;
  agentModule?: string;
  /** Agent concurrency: the drain rows hold exactly 2 tasks running. */
  concurrency?: number;
  shutdownTimeoutMs?: number;
}

export interface BenchDaemon {
  daemon: RunningDaemon;
  sup: Supervisor;
  dir: string;
  journal: string;
}

/** Starts a daemon in a fresh temp dir: socket there, TCP on a free port with `TOKEN`, silent logs. */
export async function openDaemon(setup: DaemonSetup = {}): Promise<BenchDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-daemon-'));
  const journal = setup.journalFile === true ? join(dir, 'journal.db') : ':memory:';
  const agent = { module: setup.agentModule ?? NOOP_MODULE, ...(setup.concurrency === undefined ? {} : { concurrency: setup.concurrency }) };
  const raw = {
    socket: 'troupe.sock',
    tcp: { port: 0, token: TOKEN },
    pool: POOL,
    agents: { [AGENT]: agent },
    ...(setup.shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs: setup.shutdownTimeoutMs }),
  };
  // ':memory:' goes through TROUPE_JOURNAL: configFrom resolves a `journal` key against the base
  // directory, so `"journal": ":memory:"` would name a file called ':memory:' (reported as a bug).
  const env = journal === ':memory:' ? { TROUPE_JOURNAL: ':memory:' } : {};
  const config = configFrom({ ...raw, ...(journal === ':memory:' ? {} : { journal }) }, dir, env);
  try {
    const daemon = await startDaemon(config, pino({ level: 'silent' }));
    return { daemon, sup: daemon.supervisor, dir, journal };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export async function closeDaemon(d: BenchDaemon): Promise<void> {
  try {
    await d.daemon.stop();
  } finally {
    rmSync(d.dir, { recursive: true, force: true });
  }
}

/** Starts a daemon, measures, and always stops it and removes its directory. */
export async function withDaemon(setup: DaemonSetup, body: (d: BenchDaemon) => Promise<Measurement>): Promise<Measurement> {
  const d = await openDaemon(setup);
  try {
    return await body(d);
  } finally {
    await closeDaemon(d);
  }
}

/** A row measured on a fresh default daemon (`withDaemon({}, body)`). */
export function daemonCase(id: string, label: string, short: string | undefined, body: (d: BenchDaemon) => Promise<Measurement>): Case {
  return { id, label, ...(short === undefined ? {} : { short }), measure: () => withDaemon({}, body) };
}

/** The daemon's Unix socket, or its TCP port with the bearer token. */
export type Endpoint = { socketPath: string } | { host: string; port: number; token: string };

export const socketOf = (d: BenchDaemon): Endpoint => ({ socketPath: d.daemon.socket });

export function tcpOf(d: BenchDaemon): Endpoint {
  const url = new URL(d.daemon.url!);
  return { host: url.hostname, port: Number(url.port), token: TOKEN };
}

export function connectionOf(endpoint: Endpoint): RequestOptions {
  if ('socketPath' in endpoint) return { socketPath: endpoint.socketPath };
  return { host: endpoint.host, port: endpoint.port, headers: { authorization: `Bearer ${endpoint.token}` } };
}

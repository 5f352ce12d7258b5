/**
 * A throwaway `redis-server` for the BullMQ baseline: found on PATH (or at Debian's
 * /usr/bin/redis-server), started on a free loopback port in a temporary directory of its own,
 * and stopped again, the directory removed. Without persistence by default (no RDB snapshots, no
 * AOF); with `persistence: 'aof-always'`, an append-only file in that directory synced on every
 * write (what a durable Redis is). A missing binary is a reason to skip, not an error.
 * TROUPE_BENCH_REDIS_SERVER names the binary instead (a path that does not exist: skip), which is
 * also how to see the skip on a machine that has it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stopOrKill } from './child-stop.js';

const HOST = '127.0.0.1';
/** Debian's place for it, for a PATH that lacks /usr/bin. */
const FALLBACK = '/usr/bin/redis-server';
const OVERRIDE_ENV = 'TROUPE_BENCH_REDIS_SERVER';
const READY_TIMEOUT_MS = 10_000;
/** Tries with a new port when another process took the free one before redis-server bound it. */
const PORT_TRIES = 3;

export const REDIS_NOT_INSTALLED = 'skipped: redis-server is not installed (apt-get install redis-server)';

export interface RedisServer {
  host: string;
  port: number;
  /** The `redis-server --version` line's version, e.g. `7.0.15`. */
  version: string;
  persistence: RedisPersistence;
  stop(): Promise<void>;
}

/**
 * `none`: nothing written to disk (`--save '' --appendonly no`). `aof-always`: `--appendonly yes
 * --appendfsync always`: Redis writes and fsyncs the AOF before it sends the replies of each
 * event-loop turn, so a reply means the write is on disk (one fsync covers every write of a turn).
 */
export type RedisPersistence = 'none' | 'aof-always';

export interface RedisOptions {
  /** Default `none`. */
  persistence?: RedisPersistence;
}

/** The server flags of each persistence setting; RDB snapshots are off in both. */
const PERSISTENCE_ARGS: Record<RedisPersistence, readonly string[]> = {
  none: ['--save', '', '--appendonly', 'no'],
  'aof-always': ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
};

/** How a persistence setting reads in the bench's facts and methods. */
export function describePersistence(persistence: RedisPersistence): string {
  return persistence === 'none' ? 'no persistence' : 'AOF, appendfsync always';
}

/** Either a running server or why there is none. */
export type RedisStart = { server: RedisServer } | { skipped: string };

/** The redis-server binary to run, or undefined when there is none. Synchronous, for `plan()`. */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env[OVERRIDE_ENV];
  const candidates =
    override !== undefined ? [override] : [...(env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'redis-server')), FALLBACK];
  return candidates.find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Starts a server, or says why it is skipped; throws only when an installed server fails to start. */
export async function startRedis({ persistence = 'none' }: RedisOptions = {}): Promise<RedisStart> {
  const binary = findRedisServer();
  if (binary === undefined) return { skipped: REDIS_NOT_INSTALLED };
  const version = await redisVersion(binary);
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < PORT_TRIES; attempt += 1) {
    try {
      return { server: await launch(binary, await freePort(), version, persistence) };
    } catch (err) {
      lastError = err as Error;
      if (!/address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

/** A port that was free a moment ago: the kernel's pick for port 0. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function redisVersion(binary: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', () => resolve('unknown'));
    child.once('close', () => resolve(/v=(\S+)/.exec(out)?.[1] ?? 'unknown'));
  });
}

async function launch(binary: string, port: number, version: string, persistence: RedisPersistence): Promise<RedisServer> {
  // The AOF, if any, goes here too (Redis 7: <dir>/appendonlydir): the temp directory, where Troupe's journals go.
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-redis-'));
  const args = ['--port', String(port), '--bind', HOST, ...PERSISTENCE_ARGS[persistence], '--dir', dir, '--loglevel', 'warning'];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = tail(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killNow = (): void => {
    if (running(child)) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  guard(killNow);
  const stop = async (): Promise<void> => {
    unguard(killNow);
    await terminate(child, exited);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPing(port, child, output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: HOST, port, version, persistence, stop };
}

/** Synchronous kills of the servers still running, for a bench that ends without stopping them. */
const live = new Set<() => void>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killAll(): void {
  for (const kill of live) kill();
  live.clear();
}

/**
 * A signal ends the process without 'exit' handlers: kill the servers, then, unless someone
 * else handles the signal, let it end the process as it would have.
 */
function onSignal(signal: NodeJS.Signals): void {
  killAll();
  unguardProcess();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function guard(kill: () => void): void {
  // An error thrown past stop(), process.exit() or a signal would otherwise leave redis-server running.
  if (live.size === 0) {
    process.on('exit', killAll);
    for (const signal of SIGNALS) process.on(signal, onSignal);
  }
  live.add(kill);
}

function unguard(kill: () => void): void {
  live.delete(kill);
  if (live.size === 0) unguardProcess();
}

function unguardProcess(): void {
  process.off('exit', killAll);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, then SIGKILL if it has not exited in time; resolves once it has exited. */
async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (!running(child)) return;
  await stopOrKill(child, exited, () => child.kill('SIGTERM'));
}

/** The last few KiB the server printed, for the error when it does not come up. */
function tail(child: ChildProcess): () => string {
  let text = '';
  const keep = (d: Buffer): void => {
    text = (text + d.toString()).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text.trim();
}

/** Polls with real connections until the server answers PING, it exits, or time runs out. */
async function waitForPing(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!running(child)) throw new Error(`redis-server exited (${child.exitCode ?? child.signalCode}) before answering: ${output()}`);
    if (await pings(port)) return;
    if (performance.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS} ms: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One PING on a fresh connection: true when +PONG comes back. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

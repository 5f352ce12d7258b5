/**
 * The plainjob baseline: a SQLite-backed job queue (plainjob 0.0.14) behind the bench's `Target`
 * interface. The bench process adds the jobs; worker processes forked from workers/plainjob-worker.js
 * take and run them, as plainjob's README runs its multi-process workers. plainjob is loaded with
 * a dynamic import, so that `troupe bench` still runs where it is absent (its rows are then skipped).
 *
 * plainjob does not depend on better-sqlite3 at run time: `better(db)` wraps the instance it is
 * handed, here the project's own better-sqlite3, so installing plainjob changes nothing of it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { PlainjobLogger, PlainjobModule, PlainjobWorkerArgs, PlainjobWorkerMessage } from './plainjob-api.js';
import type { Target } from './targets.js';
import { stopOrKill } from './child-stop.js';

/** The module to load; TROUPE_BENCH_PLAINJOB names another (one that does not resolve: skip), which is how to see the skip where it is installed. */
const OVERRIDE_ENV = 'TROUPE_BENCH_PLAINJOB';
const WORKER_SCRIPT = new URL('./workers/plainjob-worker.js', import.meta.url);
const JOB_TYPE = 'noop';
const READY_TIMEOUT_MS = 10_000;
const requireHere = createRequire(import.meta.url);

export const PLAINJOB_NOT_INSTALLED = 'skipped: plainjob is not installed (npm run bench:baselines installs it)';

export interface PlainjobOptions {
  /** Worker processes, each with its own connection and one job at a time. */
  workers: number;
  /**
   * How long an idle worker sleeps before it looks for a job again. plainjob's default, 1,000 ms,
   * would make a task sent to an idle queue wait half a second on average.
   */
  pollIntervalMs: number;
}

export interface PlainjobTarget extends Target {
  /** What the measurement ran on: version, SQLite settings, workers. */
  facts(): Record<string, string | number>;
}

/** plainjob's entry point, or undefined when it is not installed. */
function resolvePlainjob(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return requireHere.resolve(env[OVERRIDE_ENV] ?? 'plainjob');
  } catch {
    return undefined;
  }
}

/** Why the plainjob rows cannot run here, or undefined when they can. Synchronous, for `plan()`. */
export function plainjobUnavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return resolvePlainjob(env) === undefined ? PLAINJOB_NOT_INSTALLED : undefined;
}

/** The installed version, read from the package.json above its entry point. */
export function plainjobVersion(): string {
  const entry = resolvePlainjob();
  if (entry === undefined) return 'unknown';
  try {
    // No "exports" map in plainjob 0.0.14: dist/plainjob.js sits one level below its package.json.
    return (JSON.parse(readFileSync(join(entry, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The bench process only adds jobs; what plainjob would log goes nowhere, errors to stderr. */
const QUIET: PlainjobLogger = {
  error: (message) => process.stderr.write(`troupe bench: plainjob: ${message}\n`),
  warn: () => {},
  info: () => {},
  debug: () => {},
};

type Waiter = { resolve(v: unknown): void; reject(e: Error): void };

/**
 * Starts a queue on a fresh SQLite file in the temp directory and forks the workers, waiting until
 * each is polling; all untimed. Closing stops the workers and removes the file.
 */
export async function startPlainjob({ workers, pollIntervalMs }: PlainjobOptions): Promise<PlainjobTarget> {
  const entry = resolvePlainjob();
  if (entry === undefined) throw new Error(`bench: plainjob target started although ${PLAINJOB_NOT_INSTALLED}`);
  const plainjob = (await import(pathToFileURL(entry).href)) as PlainjobModule;
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-plainjob-'));
  const database = join(dir, 'queue.db');
  const children: ChildProcess[] = [];
  let queue: ReturnType<PlainjobModule['defineQueue']> | undefined;
  const waiters = new Map<number, Waiter>();
  const failAll = (err: Error): void => {
    for (const w of waiters.values()) w.reject(err);
    waiters.clear();
  };
  let stopping = false;
  const close = async (): Promise<void> => {
    stopping = true;
    try {
      await Promise.all(children.map(stopChild));
      queue?.close();
    } finally {
      failAll(new Error('bench: plainjob target closed'));
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    // The schema and pragmas (WAL, synchronous=NORMAL) are set here, before any worker opens the file.
    queue = plainjob.defineQueue({ connection: plainjob.better(new Database(database)), logger: QUIET });
    const args: PlainjobWorkerArgs = { database, module: pathToFileURL(entry).href, type: JOB_TYPE, pollIntervalMs };
    const onMessage = (m: PlainjobWorkerMessage): void => {
      if (m.kind === 'ready') return;
      const waiter = waiters.get(m.id);
      if (waiter === undefined) return;
      waiters.delete(m.id);
      if (m.kind === 'done') waiter.resolve(m.result);
      else waiter.reject(new Error(`plainjob job ${m.id} failed: ${m.error}`));
    };
    const ready: Promise<void>[] = [];
    for (let i = 0; i < workers; i += 1) {
      // No execArgv: the bench's own flags (--expose-gc, a profiler's) are not the workers' business.
      const child = fork(WORKER_SCRIPT, [JSON.stringify(args)], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      children.push(child);
      ready.push(readyOf(child));
      child.on('message', onMessage);
      child.on('error', (err) => failAll(new Error(`bench: a plainjob worker: ${err.message}`)));
      child.once('exit', (code, signal) => {
        if (!stopping) failAll(new Error(`bench: a plainjob worker exited (${code ?? signal}) while jobs were in flight`));
      });
    }
    await Promise.all(ready);
  } catch (err) {
    await close();
    throw err;
  }
  const jobs = queue;
  return {
    run: (input) => {
      try {
        // add() commits the job before it returns: the counterpart of a durable submit().
        const { id } = jobs.add(JOB_TYPE, input);
        return new Promise((resolve, reject) => waiters.set(id, { resolve, reject }));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    },
    threads: () => undefined,
    facts: () => ({ plainjob: plainjobVersion(), workers, pollIntervalMs, sqlite: 'WAL, synchronous=NORMAL (plainjob default)' }),
    close,
  };
}

/** Resolves at the worker's first message ('ready'); rejects if it fails to start, exits first or takes too long. */
function readyOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`bench: a plainjob worker was not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(new Error(`bench: a plainjob worker exited (${code ?? signal}) before it was ready`));
    const onMessage = (m: PlainjobWorkerMessage): void => {
      if (m.kind !== 'ready') return;
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => fail(new Error(`bench: a plainjob worker did not start: ${err.message}`));
    function cleanup(): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      child.off('message', onMessage);
    }
    function fail(err: Error): void {
      cleanup();
      reject(err);
    }
    child.on('exit', onExit);
    child.on('error', onError);
    child.on('message', onMessage);
  });
}

/** Asks a worker to stop (it ends its loop and closes its connection), SIGKILL if it has not exited in time. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await stopOrKill(child, exited, () => (child.connected ? child.send({ kind: 'stop' }) : child.kill('SIGTERM')));
}

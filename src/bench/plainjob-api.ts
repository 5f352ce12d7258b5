/**
 * The part of plainjob's API the baseline uses, typed here, and the messages between the bench
 * and its worker processes. plainjob is not a dependency of Troupe: `npm run bench:baselines`
 * installs it beside the project, as it does BullMQ, and the bench loads it at run time.
 */
import type { Database } from 'better-sqlite3';

export interface PlainjobLogger {
  error(message: string, ...meta: unknown[]): void;
  warn(message: string, ...meta: unknown[]): void;
  info(message: string, ...meta: unknown[]): void;
  debug(message: string, ...meta: unknown[]): void;
}

/** What `better(db)` wraps: plainjob drives whatever better-sqlite3 instance it is handed. */
export type PlainjobConnection = { driver: 'better-sqlite3'; filename: string };

export interface PlainjobQueue {
  /** Inserts the job (one autocommit INSERT) and returns its row id. */
  add(type: string, data: unknown): { id: number };
  close(): void;
}

export interface PlainjobJob {
  id: number;
  type: string;
  /** The job's data as stored: JSON text. */
  data: string;
}

export interface PlainjobWorker {
  /** Runs the polling loop; resolves once `stop()` has ended it. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The module's functions, as `import('plainjob')` gives them (0.0.14). */
export interface PlainjobModule {
  better(db: Database): PlainjobConnection;
  defineQueue(options: { connection: PlainjobConnection; logger?: PlainjobLogger }): PlainjobQueue;
  defineWorker(
    type: string,
    processor: (job: PlainjobJob) => Promise<void> | void,
    options: {
      queue: PlainjobQueue;
      logger?: PlainjobLogger;
      /** plainjob's spelling. Milliseconds between polls when no job was found; default 1,000. */
      pollIntervall?: number;
      onCompleted?: (job: PlainjobJob) => void;
      onFailed?: (job: PlainjobJob, error: string) => void;
    },
  ): PlainjobWorker;
}

/** How the bench starts a worker process: its argv after the script. */
export interface PlainjobWorkerArgs {
  /** The queue's SQLite file. */
  database: string;
  /** The file URL of plainjob's entry point, resolved by the parent. */
  module: string;
  /** The job type to take. */
  type: string;
  pollIntervalMs: number;
}

/** Worker → bench, over the IPC channel. */
export type PlainjobWorkerMessage =
  | { kind: 'ready' }
  /** Sent after plainjob has marked the job done (committed). */
  | { kind: 'done'; id: number; result: unknown }
  | { kind: 'failed'; id: number; error: string };

/** Bench → worker. */
export type PlainjobParentMessage = { kind: 'stop' };

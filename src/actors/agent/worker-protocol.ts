import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../../runtime/errors.js';

/** What the main thread sends to a pool thread for one task. */
export interface WorkerJob {
  moduleUrl: string;
  /** When true, only load and check the module (used at start-up to reject broken agents early). */
  probe?: boolean;
  taskId?: string;
  attempt?: number;
  input?: unknown;
  /** One end of a per-task channel: Comlink calls to `HostApi` go out on it, an abort request comes in. */
  port?: MessagePort;
}

/** What a pool thread may call on the main thread while a task runs (through Comlink). */
export interface HostApi {
  progress(value: unknown): void;
  heartbeat(): void;
  log(message: string): void;
}

/** The one raw (non-Comlink) message the main thread sends on a task's port. */
export const ABORT_MESSAGE = 'troupe:abort';

/**
 * How a pool thread reports a failure. Structured cloning keeps only an Error's message and
 * stack, so the thread throws this plain object instead and the main thread rebuilds the error
 * with its name, code and other facts intact.
 */
export interface WorkerFailure {
  troupeWorkerFailure: true;
  error: SerializedError;
}

export function isWorkerFailure(value: unknown): value is WorkerFailure {
  return value !== null && typeof value === 'object' && (value as WorkerFailure).troupeWorkerFailure === true;
}

import type { SerializedError } from '../../core/errors.js';

/** Given to every pool thread when it starts. */
export interface WorkerData {
  /** Agent modules to load before the thread takes tasks. */
  troupeModules: string[];
  /** Ask to be recycled after this many tasks. */
  maxTasksPerThread?: number;
  /** Ask to be recycled once the V8 heap in use passes this many MB after a task. */
  maxHeapMb?: number;
}

/** What the main thread sends to a pool thread for one task. */
export interface WorkerJob {
  moduleUrl: string;
  /** When true, only load and check the module (used at start-up to reject broken agents early). */
  probe?: boolean;
  taskId?: string;
  attempt?: number;
  input?: unknown;
  /** The task's last checkpoint from an earlier attempt, if any. */
  checkpoint?: unknown;
  /** Results of the task's parents, by name (graph tasks) or id. */
  parents?: Record<string, unknown>;
  /** When set, the thread sends a heartbeat this often while its event loop runs (stall detection). */
  heartbeatMs?: number;
  /** When true, the thread says when the task begins on it (the run's clocks start then). */
  signalStart?: boolean;
}

/** A task's outcome as a thread returns it: with where it ran and whether the thread wants recycling. */
export interface WorkerResult {
  troupeResult: true;
  value: unknown;
  threadId: number;
  retire: boolean;
}

export function isWorkerResult(value: unknown): value is WorkerResult {
  return value !== null && typeof value === 'object' && (value as WorkerResult).troupeResult === true;
}

/**
 * Plain messages a thread posts on its port next to Comlink's (Comlink ignores them): a task
 * began on this thread, or is still alive. Cheaper than a Comlink call: no reply.
 */
export type ThreadSignal = { troupeStarted: string; threadId: number } | { troupeBeat: string };

export function isThreadSignal(value: unknown): value is ThreadSignal {
  return value !== null && typeof value === 'object' && ('troupeStarted' in value || 'troupeBeat' in value);
}

/**
 * What a pool thread calls on the main thread while a task runs. Each thread opens one
 * MessagePort to the main thread when it starts and speaks Comlink over it for all its tasks,
 * so a task costs no channel set-up of its own.
 */
export interface HostApi {
  progress(taskId: string, value: unknown, checkpoint: boolean): void;
  heartbeat(taskId: string): void;
  log(taskId: string, message: string): void;
}

/** Posted by a thread on start-up (through Piscina's parentPort relay) to hand over its port. */
export interface HostPortMessage {
  troupeHostPort: import('node:worker_threads').MessagePort;
  threadId: number;
}

/** Sent by the main thread on every thread's port: abort this task's signal if you run it. */
export interface AbortMessage {
  troupeAbort: string;
}

export function isHostPortMessage(value: unknown): value is HostPortMessage {
  return value !== null && typeof value === 'object' && 'troupeHostPort' in value;
}

export function isAbortMessage(value: unknown): value is AbortMessage {
  return value !== null && typeof value === 'object' && typeof (value as AbortMessage).troupeAbort === 'string';
}

/**
 * How a pool thread reports a failure. Structured cloning keeps only an Error's message and
 * stack, so the thread throws this plain object instead and the main thread rebuilds the error
 * with its name, code and other facts intact.
 */
export interface WorkerFailure {
  troupeWorkerFailure: true;
  error: SerializedError;
  threadId?: number;
  retire?: boolean;
}

export function isWorkerFailure(value: unknown): value is WorkerFailure {
  return value !== null && typeof value === 'object' && (value as WorkerFailure).troupeWorkerFailure === true;
}

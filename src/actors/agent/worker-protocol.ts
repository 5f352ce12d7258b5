import type { SerializedError } from '../../core/errors.js';
import type { ChildAnswer, ChildOutcome, ChildRequest } from '../../core/children.js';

/** Given to every pool thread when it starts. */
export interface WorkerData {
  /** Agent modules to load before the thread takes tasks. */
  troupeModules: string[];
  /** Ask to be recycled after this many tasks. */
  maxTasksPerThread?: number;
  /** Ask to be recycled once the V8 heap in use passes this many MB after a task. */
  maxHeapMb?: number;
}

/** What the main thread sends to a pool thread for one task (in a batch), or a probe. */
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
  /** The manager task it runs under (`distribute()`). */
  managerId?: string;
  /** The task's git worktree (agent option `workspace`): `ctx.workdir`. */
  workdir?: string;
  /** When set, the thread sends a heartbeat this often while its event loop runs (stall detection). */
  heartbeatMs?: number;
  /** When true, the thread says when the task begins on it (the run's clocks start then). */
  signalStart?: boolean;
}

/**
 * Several tasks in one pool message (one Piscina `run()`): the thread runs them one after another,
 * in order, and posts each outcome on its host port as it comes (several per message when they
 * finish in one turn). `states` (one Int32 per task, shared) says how far each got, so that if the
 * thread dies the main thread knows which tasks never began: those go back to the queue unspent.
 */
export interface WorkerBatch {
  troupeBatch: WorkerJob[];
  /**
   * Absent for a batch of one (its task begins as the thread takes it): a SharedArrayBuffer in a
   * pool message costs about 70 µs of latency, which only a batch of several tasks can spare.
   */
  states?: SharedArrayBuffer;
}

/** `states` values: not begun, begun, outcome produced. */
export const NOT_BEGUN = 0;
export const BEGUN = 1;
export const ENDED = 2;

/** One task's outcome in a batch; `error` set when it failed. */
export interface TaskOutcome {
  taskId: string;
  /** How long its handler took, in ms (what batching plans with). */
  ms: number;
  value?: unknown;
  error?: SerializedError;
}

/** Posted on the host port: outcomes of tasks of a batch that ended in one turn. */
export interface OutcomesMessage {
  troupeOutcomes: TaskOutcome[];
  threadId: number;
}

/** What a batch's `run()` resolves with: the outcomes not posted yet, and whether the thread wants recycling. */
export interface BatchResult {
  troupeBatchDone: true;
  outcomes: TaskOutcome[];
  threadId: number;
  retire: boolean;
}

export function isWorkerBatch(value: unknown): value is WorkerBatch {
  return value !== null && typeof value === 'object' && Array.isArray((value as WorkerBatch).troupeBatch);
}

export function isOutcomesMessage(value: unknown): value is OutcomesMessage {
  return value !== null && typeof value === 'object' && Array.isArray((value as OutcomesMessage).troupeOutcomes);
}

export function isBatchResult(value: unknown): value is BatchResult {
  return value !== null && typeof value === 'object' && (value as BatchResult).troupeBatchDone === true;
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
  /** `ctx.submit` / `ctx.submitGraph` of the task running as `taskId` on the calling thread. */
  submitChildren(taskId: string, requests: ChildRequest[], graph: boolean): Promise<ChildAnswer<string[] | Record<string, string>>>;
  /** `ctx.distribute`: children of the task spread over manager tasks. */
  distributeChildren(taskId: string, requests: ChildRequest[], options: unknown): Promise<ChildAnswer<{ ids: string[]; bindings: Record<string, string | null> }>>;
  /** `ctx.wait`: resolves once every task named has ended. */
  waitChildren(taskId: string, ids: string[]): Promise<ChildAnswer<ChildOutcome[]>>;
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

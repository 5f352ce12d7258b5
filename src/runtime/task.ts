import type { SerializedError } from './errors.js';

export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const TASK_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'cancelled']);

/** How a task is executed: on the thread pool (`module`) or as a subprocess (`command`). */
export type AgentKind = 'module' | 'command';

/** What the runtime knows of one task. `seq` orders tasks FIFO within a priority level. */
export interface TaskRecord {
  readonly id: string;
  readonly seq: number;
  readonly agent: string;
  readonly kind: AgentKind;
  readonly priority: Priority;
  readonly resources: readonly string[];
  readonly input: unknown;
  /** Idempotency key: a second submission with the same key gets this task's id. */
  readonly key?: string;
  state: TaskState;
  /** Number of runs started so far; the first run is attempt 1. */
  attempt: number;
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
  progress?: unknown;
  /** The last progress value the agent marked as a checkpoint; given back to later attempts. */
  checkpoint?: unknown;
  /** Fencing token of the current run (`incarnation:attempt`); outcomes of other runs are refused. */
  lease?: string;
  result?: unknown;
  error?: SerializedError;
  cancelReason?: string;
}

/** The read-only view `Supervisor#get()` returns. */
export interface TaskInfo {
  id: string;
  key?: string;
  agent: string;
  state: TaskState;
  priority: Priority;
  resources: readonly string[];
  attempt: number;
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
  progress?: unknown;
  checkpoint?: unknown;
  result?: unknown;
  error?: SerializedError;
  cancelReason?: string;
}

export function toTaskInfo(task: TaskRecord): TaskInfo {
  const { seq: _seq, kind: _kind, input: _input, lease: _lease, ...info } = task;
  return { ...info };
}

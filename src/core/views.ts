// Read-only views the engine hands the actors and the public API: the task table and the journal's figures.
import type { BreakerRecord, IntakeRecord } from './messages.js';
import type { TaskRecord, TaskState } from './task.js';

/** Read access to the task table, shared with the actors (they never write it). */
export interface TaskView {
  get(id: string): TaskRecord | undefined;
  inState(state: TaskState): Iterable<TaskRecord>;
  /** Every task kept, in no particular order. */
  all(): Iterable<TaskRecord>;
  count(state: TaskState): number;
  /** Breakers as last recorded (journaled), by key. */
  breakerRecords(): ReadonlyMap<string, BreakerRecord>;
  /** Agents whose intake is paused (journaled), by name. */
  pausedAgents(): ReadonlyMap<string, IntakeRecord>;
  /** Queued tasks per agent (agents with none are absent). */
  queuedByAgent(): ReadonlyMap<string, number>;
  /** Ids of the tasks not ended yet that depend on `id`; undefined when there are none (most tasks). */
  childrenOf(id: string): ReadonlySet<string> | undefined;
  /** Ids of the tasks bound to manager `id` (`distribute()`); undefined when there are none. */
  boundTo(id: string): ReadonlySet<string> | undefined;
}

export interface JournalInfo {
  path: string;
  durability: string;
  /** Starts of the runtime on this journal so far, this one included. */
  incarnation: number;
  /** Transactions (batches) committed since start; under 'fsync' one fsync covers every batch written while the previous one ran. */
  commits: number;
  transitions: number;
  /** The error code while the journal refuses writes (disk full, read-only), else null. */
  writeError: string | null;
}

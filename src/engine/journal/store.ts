// The durable side of the runtime, as one contract: every implementation passes test/store-contract.
import type { BreakerRecord, IntakeRecord } from '../../core/messages.js';
import { describeValue, TroupeError } from '../../core/errors.js';
import type { TaskRecord } from '../../core/task.js';

/** The blob fields of a task (kept apart from its row's scalar columns, written only when changed). */
export type BlobField = 'input' | 'result' | 'checkpoint';

/** One row of the append-only transition log. */
export interface LogRow {
  taskId: string;
  type: string;
  attempt: number;
  at: number;
  detail: string | null;
}

/** A task changed by a group, as the group leaves it. */
export interface TaskWrite {
  task: TaskRecord;
  /** True when the group records its submission (the row is new). */
  insert: boolean;
  /** Blob fields written since the last commit (an insert writes all it has). */
  blobs: ReadonlySet<BlobField>;
  /**
   * Fencing: the lease the row must still hold for this write to apply (what the writer last
   * committed for it). A row another runner has since taken fails the whole group with
   * TROUPE_STORE_CONFLICT. Ignored for inserts.
   */
  fence: string | null;
}

/** What one commit makes durable, all or nothing. */
export interface CommitGroup {
  tasks: readonly TaskWrite[];
  log: readonly LogRow[];
  breakers: ReadonlyMap<string, BreakerRecord>;
  /** Agents paused (their record) or resumed (null); absent: none changed. */
  intakes?: ReadonlyMap<string, IntakeRecord | null>;
}

/** What recovery rebuilds from: every task kept (in submission order), every breaker, every paused agent. */
export interface LoadedState {
  tasks: TaskRecord[];
  breakers: Map<string, BreakerRecord>;
  intakes: Map<string, IntakeRecord>;
}

/** A recorded start, as rate limits count it after a restart. */
export interface RecentStart {
  at: number;
  agent: string;
  resources: string[];
}

export interface Store {
  /** Where it lives (a file path, or `:memory:`). */
  readonly path: string;
  /** Which opening of this store this is: one more at each open. Part of every lease, so it fences runs of earlier ones. */
  readonly incarnation: number;
  /** Commits and log rows written since it was opened. */
  readonly stats: { commits: number; transitions: number };
  /** Every task kept, in submission order (`seq`), and every breaker: what recovery rebuilds from. */
  load(): LoadedState;
  /** Starts logged at or after `since`, oldest first. */
  recentStarts(since: number): RecentStart[];
  /** Writes a group atomically: every write or none. Throws a TroupeError (and writes nothing) on failure. */
  commit(group: CommitGroup): void;
  /** Calls `done` once everything committed so far is as durable as the store promises. */
  sync(done: (err: TroupeError | null) => void): void;
  /** The same, blocking (start-up and shutdown). */
  syncNow(): void;
  /** Deletes finished tasks and their log rows. */
  prune(ids: readonly string[]): void;
  /** Housekeeping after a prune (SQLite folds its WAL back); a no-op where there is none. */
  compact(): void;
  /** Releases the store (and its lock). Safe to call twice. */
  close(): void;
}

/**
 * A value of one task the store cannot write (not serializable, or over the size limit): the
 * commit fails naming the task, so the writer can fail that task alone and commit the rest.
 */
export function unwritableValue(taskId: string, field: BlobField | 'row', rule: string, value: unknown, cause?: unknown): TroupeError {
  const code = field === 'row' ? 'TROUPE_INVALID_TASK' : field === 'input' ? 'TROUPE_UNCLONEABLE_INPUT' : 'TROUPE_UNCLONEABLE_RESULT';
  return new TroupeError(code, `task ${taskId}: ${field} ${rule} (got ${describeValue(value)})`, {
    cause,
    details: { taskId, field: `task.${field}`, rule, unwritable: true },
  });
}

/**
 * The one task a commit failed for, if it failed for one: a value it cannot write, or a row another
 * writer holds (TROUPE_STORE_CONFLICT). Retrying the same group would fail the same way for ever.
 */
export function taskAtFault(err: TroupeError): string | undefined {
  const named = typeof err.details.taskId === 'string' ? err.details.taskId : undefined;
  return err.details.unwritable === true || err.code === 'TROUPE_STORE_CONFLICT' ? named : undefined;
}

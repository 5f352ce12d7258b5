import type { WorkspaceInfo, WorkspaceWait } from './workspace.js';
import type { SerializedError } from './errors.js';
import type { Strategy } from './distribution.js';

export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * `blocked`: waiting for its parents (`dependsOn`) to succeed; `delayed`: waiting out a retry
 * backoff; `dead`: failed for good (attempts used up, an unrecoverable error, or a failed parent),
 * kept as a dead letter until redriven or pruned.
 */
export const TASK_STATES = ['blocked', 'queued', 'delayed', 'running', 'succeeded', 'dead', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'dead', 'cancelled']);

/** Per-task overrides of the agent's policy, fixed at submission (journaled with the task). */
export interface TaskPolicy {
  retry?: { attempts?: number; maxStarts?: number; backoff?: { initialMs?: number; factor?: number; maxMs?: number; jitter?: number } };
  timeoutMs?: number;
  stallTimeoutMs?: number;
}

/** One run of a task that did not succeed: why, how long, and where it ran. */
export interface AttemptRecord {
  attempt: number;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  error?: SerializedError;
  /** Set when the run was cut short by a crash or restart rather than failing (the reason). */
  interrupted?: string;
  threadId?: number;
  pid?: number;
}

/**
 * What a blocked task does when a parent ends without success: `fail` (default) makes it dead
 * (TROUPE_DEPENDENCY_FAILED), `ignore` runs it once every parent has ended, `wait` keeps it
 * blocked until the parent is redriven and succeeds. A cancelled parent always cancels it.
 */
export const PARENT_FAILURE_POLICIES = ['fail', 'ignore', 'wait'] as const;
export type ParentFailurePolicy = (typeof PARENT_FAILURE_POLICIES)[number];

/**
 * What a parent's end does to its children (tasks it submitted while it ran) that have not ended:
 * `cancel` (default) cancels them and their subtrees, `detach` lets them run on. A cancelled parent
 * always cancels its subtree.
 */
export const CHILD_POLICIES = ['cancel', 'detach'] as const;
export type ChildPolicy = (typeof CHILD_POLICIES)[number];

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
  /** Replaced only by a redrive with new input. */
  input: unknown;
  /** Idempotency key: a second submission with the same key gets this task's id. */
  readonly key?: string;
  readonly policy?: TaskPolicy;
  /** Tasks that must succeed before this one runs (their results reach its handler). */
  readonly dependsOn?: readonly string[];
  readonly onParentFailure?: ParentFailurePolicy;
  /** Its name in its graph (`submitGraph`): the key of its result in its children's `ctx.parents`. */
  readonly name?: string;
  /** The graph it was submitted in (`submitGraph`). */
  readonly graph?: string;
  /** Its longest remaining path in its graph: higher runs first within a priority level. */
  readonly rank?: number;
  /** The task whose ending submitted this one through a pipeline rule. */
  readonly origin?: string;
  /** Its fairness group (a tenant, say): groups take turns within a priority level. */
  readonly group?: string;
  /** The running task that submitted it (`ctx.submit`, a command's `troupe submit`, or `distribute`). */
  readonly parentId?: string;
  /** Its key among its parent's children: submitting the same key under the same parent again returns this task. */
  readonly childKey?: string;
  /** Children of this task that may run at once (overrides its agent's `maxChildren`). */
  readonly maxChildren?: number;
  /** What its end does to its children still under way (overrides its agent's `children`). */
  readonly childPolicy?: ChildPolicy;
  /** Set by `distribute()`: the manager tasks it may run under, and how it is bound to one of them. */
  readonly managers?: readonly string[];
  readonly distribution?: Strategy;
  /** Its consistent-hash key (`distribute({ strategy: 'consistent-hash', hashField })`). */
  readonly hashKey?: string;
  /** The manager it is bound to (it counts against that task's `maxChildren`); changes when that manager ends. */
  managerId?: string;
  /** Result-cache key (explicit `cacheKey`, or derived from the input by the agent's `cache`). */
  readonly cacheKey?: string;
  /** Set on a task born `succeeded` from the cache: the id of the task whose result it reused. */
  readonly cachedFrom?: string;
  state: TaskState;
  /** Number of runs started so far; the first run is attempt 1. Never goes back (it fences leases). */
  attempt: number;
  /** Failed attempts that count against `retry.attempts`, since submission or the last redrive. */
  failures?: number;
  /** Runs started since submission or the last redrive (the start cap). */
  starts?: number;
  /** While `delayed`: when it goes back to the queue. */
  retryAt?: number;
  /** Every run that did not succeed, oldest first. */
  history?: AttemptRecord[];
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
  progress?: unknown;
  /** The last progress value the agent marked as a checkpoint; given back to later attempts. */
  checkpoint?: unknown;
  /** Fencing token of the current run (`incarnation:attempt`); outcomes of other runs are refused. */
  lease?: string;
  result?: unknown;
  /** The last failure (also while delayed before a retry). */
  error?: SerializedError;
  cancelReason?: string;
}

/** The read-only view `Supervisor#get()` returns. */
export interface TaskInfo {
  id: string;
  key?: string;
  name?: string;
  graph?: string;
  dependsOn?: readonly string[];
  onParentFailure?: ParentFailurePolicy;
  rank?: number;
  origin?: string;
  group?: string;
  parentId?: string;
  childKey?: string;
  maxChildren?: number;
  childPolicy?: ChildPolicy;
  managers?: readonly string[];
  distribution?: Strategy;
  hashKey?: string;
  managerId?: string;
  /** Set by `get()` on a task that submitted children: how many of them are in each state. */
  children?: Partial<Record<TaskState, number>>;
  /** Set by `get()` on a manager (`distribute()`): how many tasks bound to it are in each state. */
  bound?: Partial<Record<TaskState, number>>;
  cacheKey?: string;
  cachedFrom?: string;
  agent: string;
  state: TaskState;
  priority: Priority;
  resources: readonly string[];
  attempt: number;
  failures?: number;
  starts?: number;
  retryAt?: number;
  history?: AttemptRecord[];
  submittedAt: number;
  startedAt?: number;
  finishedAt?: number;
  progress?: unknown;
  checkpoint?: unknown;
  result?: unknown;
  error?: SerializedError;
  cancelReason?: string;
  /**
   * Set by `get()` on a queued task that a breaker holds back: the first of its keys (its agent's,
   * then its resources') whose breaker is open, or half-open with its trial slots full. Read from
   * the recorded breakers when asked, never stored with the task.
   */
  heldBy?: BreakerHold;
  /** Set by `get()` for a task of an agent with `workspace`: its git worktree, once made. */
  workspace?: WorkspaceInfo;
  /**
   * Set by `get()` and `list()` on a task that has not started: the first thing that holds it back
   * (see WaitReason). Read from the owners of each limit when asked, never stored with the task.
   */
  waiting?: WaitReason;
  /** The task's input: only when asked for (`include: ['input']`). */
  input?: unknown;
}

/**
 * Why a task waits. `blocked`: `parents` not succeeded yet; `delayed`: a `retry` at `at`; queued:
 * its agent `paused`, an open `breaker`, a repository's `worktrees` or `disk` budget, a
 * `rate-limit` until `nextAt`, a concurrency limit its running peers fill (`agent-limit`,
 * `resource-limit`, `group-limit`, `children-limit`), else `capacity` (free slots and tasks ahead).
 */
export type WaitReason =
  | { for: 'parents'; parents: string[] }
  | { for: 'retry'; at: number }
  | { for: 'paused'; agent: string; since: number }
  | ({ for: 'breaker' } & BreakerHold)
  | WorkspaceWait
  | { for: 'rate-limit'; key: string; nextAt: number }
  | { for: 'agent-limit'; agent: string; limit: number; inUse: number }
  | { for: 'resource-limit'; resource: string; limit: number; inUse: number }
  | { for: 'group-limit'; group: string; limit: number; inUse: number }
  | { for: 'children-limit'; parent: string; limit: number; inUse: number }
  | { for: 'capacity' };

/** A breaker that holds a queued task back (`TaskInfo.heldBy`). */
export interface BreakerHold {
  /** Its key: `agent:<name>` or `resource:<name>`. */
  breaker: string;
  state: 'open' | 'half-open';
  /** When an open breaker lets trial tasks through, or null (forced open, or half-open already). */
  halfOpenAt: number | null;
}

/** The fields a transition may change (the rest of a record is fixed at submission). */
const MUTABLE = ['state', 'attempt', 'failures', 'starts', 'retryAt', 'history', 'lease', 'startedAt', 'finishedAt', 'progress', 'checkpoint', 'result', 'error', 'cancelReason', 'managerId'] as const;
const INFO = ['id', 'key', 'name', 'graph', 'dependsOn', 'onParentFailure', 'rank', 'origin', 'group', 'parentId', 'childKey', 'maxChildren', 'childPolicy', 'managers', 'distribution', 'hashKey', 'cacheKey', 'cachedFrom', 'agent', 'priority', 'resources', 'submittedAt', ...MUTABLE] as const;

/** Reads the named fields through property access (records read back from the journal have accessors). */
function pick<K extends keyof TaskRecord>(task: TaskRecord, keys: readonly K[]): Partial<Pick<TaskRecord, K>> {
  const out: Partial<Pick<TaskRecord, K>> = {};
  for (const key of keys) if (task[key] !== undefined) out[key] = task[key];
  return out;
}

export function toTaskInfo(task: TaskRecord): TaskInfo {
  const { lease: _lease, ...info } = pick(task, INFO);
  return info as TaskInfo;
}

/** The changeable fields only, cheaply: what undoing a transition needs. */
export type MutableFields = Pick<TaskRecord, (typeof MUTABLE)[number]>;

export function snapshotTask(t: TaskRecord): MutableFields {
  return {
    state: t.state, attempt: t.attempt, failures: t.failures, starts: t.starts, retryAt: t.retryAt,
    history: t.history === undefined ? undefined : [...t.history], lease: t.lease, startedAt: t.startedAt, finishedAt: t.finishedAt,
    progress: t.progress, checkpoint: t.checkpoint, result: t.result, error: t.error, cancelReason: t.cancelReason, managerId: t.managerId,
  };
}

/** Puts the changeable fields of `task` back as `before` had them (same object: actors may hold it). */
export function restoreTask(task: TaskRecord, before: MutableFields): void {
  const t = task as unknown as Record<string, unknown>;
  for (const key of MUTABLE) {
    if (before[key] !== undefined) t[key] = before[key];
    else if (Object.prototype.hasOwnProperty.call(t, key)) delete t[key];
    else if (t[key] !== undefined) t[key] = undefined; // an accessor (checkpoint, result) of a stored task
  }
}

// The scheduler's data: lanes of interchangeable tasks, their groups and priority levels, and claims.
import type TinyQueue from 'tinyqueue';
import type { AgentKind, Priority } from '../../core/task.js';
import type { SchedTask } from './sched-task.js';

/**
 * Order within a lane: tasks put back after a lost run first (the latest first), then higher rank,
 * then the order they were enqueued in (`seq` orders lanes against each other, not tasks in one).
 */
export function entryAhead(a: Entry, b: Entry): number {
  return Number(a.pos > 0) - Number(b.pos > 0) || (b.task.rank ?? 0) - (a.task.rank ?? 0) || a.pos - b.pos;
}

/**
 * Tasks that share priority, agent and resources form a lane. Every task of a lane has the same
 * constraints, so if a lane's head cannot run, none of it can: dispatch never scans past a head.
 */
export interface Lane {
  /** Its key in `Scheduler.lanes`. */
  readonly id: string;
  readonly group: Group;
  /** True when one of `keys` has a rate limit: only such lanes consult the limiter. */
  readonly rated: boolean;
  readonly priority: Priority;
  readonly agent: string;
  readonly kind: AgentKind;
  readonly resources: readonly string[];
  /** The repository its agent's tasks run in worktrees of (their count and disk budget limit it). */
  readonly workspace: string | undefined;
  /** `agent:<name>` and `resource:<name>` of each resource: the keys whose caps hold the lane back. */
  readonly keys: readonly string[];
  /** A heap in `entryAhead` order (plain FIFO for tasks without a rank). */
  readonly tasks: TinyQueue<Entry>;
  /** Entries in `tasks` that were not removed. */
  live: number;
}

/**
 * One queued task in its lane. Removal only flags the entry (the lane skips it when it reaches
 * it), so a task removed and enqueued again has a new entry and its old one stays dead.
 */
export interface Entry {
  readonly task: SchedTask;
  readonly lane: Lane;
  /** Enqueue order: 1, 2, 3… at the back; -1, -2… at the front (a lost run's task). */
  readonly pos: number;
  removed: boolean;
}

/**
 * The lanes of one fairness group within a priority level. The default group (no name) lives as
 * long as the scheduler; a named group is dropped, lanes and all, once it has nothing queued.
 */
export interface Group {
  /** Its key in `Level.groups`. */
  readonly key: string | undefined;
  readonly name: string | undefined;
  /** Set for the children of a parent with a `maxChildren` limit: they queue apart, under that limit. */
  readonly parent: string | undefined;
  /** Set for distributed tasks not bound yet: the managers one of which takes each at dispatch. */
  readonly pool: readonly string[] | undefined;
  readonly level: Level;
  readonly lanes: Lane[];
  /** Live entries in its lanes. */
  live: number;
}

/** A priority level: its groups, and those with queued tasks in turn order (the front's turn is next). */
export interface Level {
  readonly groups: Map<string | undefined, Group>;
  readonly turns: Group[];
}

/** Concurrency claimed by a what-if count, on top of what really runs. */
export interface Claims {
  agents: Map<string, number>;
  resources: Map<string, number>;
  groups: Map<string, number>;
  parents: Map<string, number>;
  workspaces: Map<string, number>;
}



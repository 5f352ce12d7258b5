// The query and option shapes of the Supervisor's read and admin calls, with their schemas.
import { z } from 'zod';
import { TASK_STATES, type TaskState } from '../core/task.js';

export const redriveOptionsSchema = z.strictObject({ input: z.unknown().optional() });

export const deadLetterQuerySchema = z.strictObject({
  agent: z.string().min(1).optional(),
  limit: z.int().min(1).optional(),
});

export interface DeadLetterQuery {
  /** Only dead tasks of this agent. */
  agent?: string;
  /** At most this many, most recently dead first. Default 100. */
  limit?: number;
}

/** What `include` may add to a task read: its input (left out by default: it may be large). */
export const INCLUDES = ['input'] as const;
export type Include = (typeof INCLUDES)[number];

/** The filters `list()`, `count()` and `redriveAll()` share. */
export interface TaskFilter {
  agent?: string;
  /** Only tasks of this fairness group. */
  group?: string;
  /** Only tasks submitted at or after this time (epoch ms). */
  since?: number;
  /** Only tasks submitted before this time (epoch ms). */
  until?: number;
  /**
   * Only tasks with this text (case-insensitive) in their id, key, name, agent, group, input (as
   * JSON), or error code or message.
   */
  search?: string;
}

export interface ListQuery extends TaskFilter {
  /** One state, or any of several. */
  state?: TaskState | readonly TaskState[];
  /** Newest first (by submission); default oldest first. `after` pages in the same order. */
  newest?: boolean;
  /** At most this many. Default 100, at most 1000. */
  limit?: number;
  /** Only tasks after the task with this id in the list's order (paging: pass the last id of the previous page). */
  after?: string;
  /** `['input']` adds each task's input. */
  include?: readonly Include[];
}

/** How many tasks match a filter, in all and per state. */
export interface TaskCounts {
  total: number;
  byState: Record<TaskState, number>;
}

const filterShape = {
  agent: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
  since: z.number().finite().optional(),
  until: z.number().finite().optional(),
  search: z.string().min(1).max(1000).optional(),
};

export const taskFilterSchema = z.strictObject(filterShape);

export const listQuerySchema = z.strictObject({
  ...filterShape,
  state: z.union([z.enum(TASK_STATES), z.array(z.enum(TASK_STATES)).min(1)]).optional(),
  newest: z.boolean().optional(),
  limit: z.int().min(1).max(1000).optional(),
  after: z.string().min(1).optional(),
  include: z.array(z.enum(INCLUDES)).optional(),
});

export const getOptionsSchema = z.strictObject({ include: z.array(z.enum(INCLUDES)).optional() });

export interface GetOptions {
  /** `['input']` adds the task's input. */
  include?: readonly Include[];
}

export interface RedriveOptions {
  /** New input for the redriven tasks (validated like a submission's); default: their old input. */
  input?: unknown;
}

export interface ShutdownOptions {
  /** How long running tasks may take to finish before they are cancelled. Default 5000 ms. */
  timeoutMs?: number;
}


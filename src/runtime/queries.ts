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

export interface ListQuery {
  state?: TaskState;
  agent?: string;
  /** Only tasks of this fairness group. */
  group?: string;
  /** At most this many, in submission order. Default 100, at most 1000. */
  limit?: number;
  /** Only tasks submitted after the task with this id (paging: pass the last id of the previous page). */
  after?: string;
}

export const listQuerySchema = z.strictObject({
  state: z.enum(TASK_STATES).optional(),
  agent: z.string().min(1).optional(),
  group: z.string().min(1).optional(),
  limit: z.int().min(1).max(1000).optional(),
  after: z.string().min(1).optional(),
});

export interface RedriveOptions {
  /** New input for the redriven tasks (validated like a submission's); default: their old input. */
  input?: unknown;
}

export interface ShutdownOptions {
  /** How long running tasks may take to finish before they are cancelled. Default 5000 ms. */
  timeoutMs?: number;
}


/**
 * The tools' input and output schemas (zod; the SDK publishes them as JSON Schema in `tools/list`
 * and answers arguments that fail them with an `isError` result naming the field). A task's own
 * fields are the runtime's to check: the task schema documents the usual ones and lets the rest
 * through, and the daemon refuses a bad one with the error code and `tasks[i].<field>`.
 */
import { z } from 'zod';
import { PARENT_FAILURE_POLICIES, PRIORITIES, type TaskState } from '../index.js';

/** Tasks one call may submit or ask about. */
export const MAX_TASKS = 1_000;
/** Longest `executeParallel` waits: under the 60 s at which MCP clients time a tool call out. */
export const MAX_WAIT_MS = 50_000;
export const DEFAULT_WAIT_MS = 30_000;

const STATE_SET: Record<TaskState, true> = { blocked: true, queued: true, delayed: true, running: true, succeeded: true, dead: true, cancelled: true };
export const TASK_STATES = Object.keys(STATE_SET) as [TaskState, ...TaskState[]];
/** States a task does not leave (a dead task leaves only by a redrive). */
export const FINISHED: ReadonlySet<string> = new Set<TaskState>(['succeeded', 'dead', 'cancelled']);

const id = z.string().min(1).describe('A task id, as executeParallel or listTasks returned it.');

/** One task, as `POST /v1/tasks` takes it (the daemon validates every field; unknown ones are refused there). */
export const taskRequest = z
  .looseObject({
    agent: z.string().min(1).describe('Name of an agent configured in the daemon (an unknown name is refused with the list of the configured ones).'),
    input: z.unknown().optional().describe("The task's input: any JSON value; the agent receives it as is."),
    priority: z.enum(PRIORITIES).optional().describe('critical, high, normal (default) or low.'),
    key: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe('Idempotency key: submitting a task with a key already used returns the existing task id instead of running it again. Give one per task to make retries of this call safe.'),
    group: z.string().min(1).optional().describe('Fairness group (a tenant, a project): within a priority, groups take turns.'),
    resources: z.array(z.string().min(1)).optional().describe('Names of configured resources the task holds while it runs (concurrency limits).'),
    dependsOn: z.array(z.string().min(1)).optional().describe('Ids of tasks that must succeed before this one runs.'),
    onParentFailure: z.enum(PARENT_FAILURE_POLICIES).optional().describe('With dependsOn: what a failed parent does to this task (fail, ignore, wait).'),
    timeoutMs: z.int().min(1).optional().describe('Longest one run may take before it is stopped and counted as a failed attempt.'),
    retry: z.looseObject({}).optional().describe("Overrides the agent's retry policy: { attempts, maxStarts, backoff }."),
  })
  .describe('One task for an agent. Other fields of the daemon\'s POST /v1/tasks body (stallTimeoutMs, cacheKey, cacheTtlMs) are passed through.');

const tasks = z.array(taskRequest).min(1).max(MAX_TASKS);

export const executeParallelInput = z.strictObject({
  tasks: tasks.describe(`The tasks to run, 1 to ${MAX_TASKS}; they run in parallel as the daemon's limits allow.`),
  wait: z.boolean().default(false).describe('false (default): return the ids at once. true: wait for the tasks, with progress notifications, until all finish or waitMs passes.'),
  waitMs: z
    .int()
    .min(0)
    .max(MAX_WAIT_MS)
    .default(DEFAULT_WAIT_MS)
    .describe(`With wait: the longest to wait, in ms (at most ${MAX_WAIT_MS}, default ${DEFAULT_WAIT_MS}). Tasks still running then keep running: ask getParallelStatus later.`),
});

const error = z.looseObject({ code: z.string().optional(), message: z.string() });
/** A task's outcome: its state, and its result (succeeded) or error (dead, cancelled). */
const outcome = z.looseObject({ state: z.string(), result: z.unknown().optional(), error: error.optional() });

export const executeParallelOutput = z.strictObject({
  ids: z.array(z.string()).describe('The task ids, in the order of the tasks given.'),
  states: z.record(z.string(), z.string()).describe('Each task\'s state by id: blocked, queued, delayed, running, succeeded, dead or cancelled.'),
  done: z.boolean().describe('True when every task has finished (succeeded, dead or cancelled).'),
  results: z.record(z.string(), outcome).optional().describe('With wait: the outcome of each task that finished, by id.'),
});

export const getParallelStatusInput = z.strictObject({
  ids: z.array(id).max(MAX_TASKS).optional().describe('Task ids to report on one by one (state, and result or error once finished).'),
});

export const getParallelStatusOutput = z.strictObject({
  counts: z.record(z.string(), z.number()).describe('Tasks by state now: queued, delayed, blocked, running, dead (dead letters kept).'),
  totals: z.record(z.string(), z.number()).describe('Since the daemon started: submitted, succeeded, failed runs, retried, dead, cancelled.'),
  agents: z.record(z.string(), z.record(z.string(), z.number())).describe('By agent: running and queued now, outcomes since start.'),
  running: z.array(z.looseObject({ id: z.string(), agent: z.string() })).describe('Tasks running now (at most 100).'),
  managers: z
    .array(z.looseObject({ id: z.string(), agent: z.string(), children: z.record(z.string(), z.number()), bound: z.record(z.string(), z.number()) }))
    .describe('Running tasks that have children or distributed tasks bound to them (managers): those tasks by state.'),
  tasks: z.record(z.string(), outcome).optional().describe('With ids: each task\'s state, and its result or error once finished.'),
});

export const getTaskInput = z.strictObject({ id });

export const getTaskOutput = z.looseObject({ id: z.string(), agent: z.string(), state: z.string(), attempt: z.number() });

export const listTasksInput = z.strictObject({
  state: z.enum(TASK_STATES).optional().describe('Only tasks in this state.'),
  agent: z.string().min(1).optional().describe('Only tasks of this agent.'),
  group: z.string().min(1).optional().describe('Only tasks of this fairness group.'),
  limit: z.int().min(1).max(1_000).optional().describe('At most this many (default 100, at most 1000), in submission order.'),
  after: id.optional().describe('Only tasks submitted after this one: pass the `next` of the previous page.'),
});

export const listTasksOutput = z.strictObject({
  tasks: z.array(z.looseObject({ id: z.string(), agent: z.string(), state: z.string() })),
  next: z.string().optional().describe('When the page is full: the `after` that reads the next page.'),
});

export const cancelTaskInput = z.strictObject({
  id,
  reason: z.string().min(1).max(1_000).optional().describe('Why, kept with the task (default "cancelled by caller").'),
});

export const cancelTaskOutput = z.strictObject({
  id: z.string(),
  cancelled: z.boolean().describe('True when cancelled now; false when the task had already finished.'),
});

export const redriveTasksInput = z.strictObject({
  ids: z.array(id).min(1).max(MAX_TASKS).describe('Ids of dead tasks (listTasks with state "dead") to run again.'),
});

export const redriveTasksOutput = z.strictObject({ ids: z.array(z.string()) });

export const STRATEGIES = ['at-dispatch', 'round-robin', 'least-loaded', 'capacity-aware', 'consistent-hash'] as const;

export const distributeWorkInput = z.strictObject({
  tasks: tasks.describe('The tasks to spread over the managers.'),
  managers: z.array(id).min(1).describe('Ids of running manager tasks to spread over (each with a maxChildren limit: see getParallelStatus managers).'),
  strategy: z
    .enum(STRATEGIES)
    .optional()
    .describe(
      'at-dispatch (default): a task is bound to a manager only when one has a free slot. round-robin, least-loaded (fewest tasks), ' +
        'capacity-aware (most free child slots): bound now. consistent-hash: the same value of hashField always goes to the same manager.',
    ),
  hashField: z.string().min(1).optional().describe('With consistent-hash: the task field to hash (e.g. "input.repo").'),
});

export const distributeWorkOutput = z.looseObject({
  ids: z.array(z.string()).describe('The task ids, in the order of the tasks given.'),
  bindings: z.unknown().describe('Which manager each task is bound to (or will be, at dispatch).'),
});

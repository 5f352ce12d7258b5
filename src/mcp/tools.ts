/**
 * Troupe's MCP tools, registered on one server instance over a `Backend`: run tasks in parallel,
 * spread them over managers, follow them, cancel and redrive them. Each has a schema, annotations
 * and a description written for the model that calls it.
 */
import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import type { Backend } from './backend.js';
import { answer, finished, outcomeOf, summaryOf } from './results.js';
import * as s from './schemas.js';
import { readStates, waitForTasks, type Latest, type ProgressSink } from './wait.js';

/** Running tasks getParallelStatus lists. */
const RUNNING_SHOWN = 100;
/** getParallelStatus of an id no task has: one line of the answer, not a failed call. */
const UNKNOWN = { state: 'unknown', error: { code: 'TROUPE_UNKNOWN_TASK', message: 'no task has this id' } };

/** `notifications/progress` for this request, when its client asked for progress (a `progressToken`). */
function progressSink(ctx: ServerContext): ProgressSink | undefined {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return undefined;
  // A notification that cannot be sent (the client went away) ends nothing: the tasks run on.
  return (progress, total, message) => ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress, total, message } }).catch(() => {});
}

const statesOf = (ids: readonly string[], latest: Latest): Record<string, string> => Object.fromEntries(ids.map((id) => [id, latest.get(id)!.state]));

function registerExecuteParallel(server: McpServer, backend: Backend, closing?: AbortSignal): void {
  server.registerTool(
    'executeParallel',
    {
      title: 'Run tasks in parallel',
      description:
        'Submit tasks to agents configured in the Troupe daemon; they run in parallel under the daemon\'s limits, priorities and retries, ' +
        'and survive this call (and the MCP server) ending. Returns { ids, states, done } at once. With wait: true, waits (sending progress ' +
        'notifications) until all finish or waitMs (at most 50000) passes, and adds results: { state, result } or { state, error } for each ' +
        'finished task; tasks still running are in states, to check later with getParallelStatus({ ids }). Give each task a key to make a ' +
        'retried call return the same ids instead of running the work twice.',
      inputSchema: s.executeParallelInput,
      outputSchema: s.executeParallelOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args, ctx) =>
      answer(async () => {
        const deadline = Date.now() + args.waitMs;
        const ids = await backend.submit(args.tasks);
        const unique = [...new Set(ids)];
        const latest: Latest = new Map();
        await readStates(backend, unique, latest);
        if (args.wait) {
          const giveUp = closing === undefined ? ctx.mcpReq.signal : AbortSignal.any([ctx.mcpReq.signal, closing]);
          await waitForTasks(backend, unique, latest, deadline, giveUp, progressSink(ctx));
        }
        const done = unique.every((id) => finished(latest.get(id)!.state));
        if (!args.wait) return { ids, states: statesOf(unique, latest), done };
        const results = Object.fromEntries(unique.filter((id) => finished(latest.get(id)!.state)).map((id) => [id, outcomeOf(latest.get(id)!)]));
        return { ids, states: statesOf(unique, latest), done, results };
      }),
  );
}

function registerDistributeWork(server: McpServer, backend: Backend): void {
  server.registerTool(
    'distributeWork',
    {
      title: 'Distribute tasks over managers',
      description:
        'Spread tasks over running manager tasks (each runs its specialists as child tasks under its own limit), by strategy: at-dispatch ' +
        '(default: a task goes to a manager only when that manager has a free slot), round-robin, least-loaded, capacity-aware, or ' +
        'consistent-hash on hashField (the same repo or file always to the same manager). Returns { ids, bindings }; follow the tasks ' +
        'with getParallelStatus({ ids }).',
      inputSchema: s.distributeWorkInput,
      outputSchema: s.distributeWorkOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async (args) => answer(async () => backend.distribute(args)),
  );
}

function registerGetParallelStatus(server: McpServer, backend: Backend): void {
  server.registerTool(
    'getParallelStatus',
    {
      title: 'Status of the work',
      description:
        'How the daemon\'s work stands: tasks by state now (queued, delayed, blocked, running, dead), totals since start, figures by agent, ' +
        'the running tasks; with ids, each of those tasks\' state and, once finished, its result or error. Use it to follow tasks that ' +
        'executeParallel or distributeWork returned.',
      inputSchema: s.getParallelStatusInput,
      outputSchema: s.getParallelStatusOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args) =>
      answer(async () => {
        const [snapshot, running] = await Promise.all([backend.snapshot(), backend.list({ state: 'running', limit: RUNNING_SHOWN })]);
        const { queue, counters } = snapshot;
        const status: Record<string, unknown> = {
          counts: { queued: queue.depth, delayed: queue.delayed, blocked: queue.blocked, running: snapshot.running, dead: queue.dead },
          totals: { submitted: counters.submitted, succeeded: counters.succeeded, failed: counters.failed, retried: counters.retried, dead: counters.dead, cancelled: counters.cancelled },
          agents: snapshot.byAgent,
          running: running.map(summaryOf),
          // Running tasks with children or distributed tasks bound to them: their loads by state.
          managers: running
            .filter((t) => t.children !== undefined || t.bound !== undefined)
            .map((t) => ({ id: t.id, agent: t.agent, ...(t.maxChildren !== undefined && { maxChildren: t.maxChildren }), children: t.children ?? {}, bound: t.bound ?? {} })),
        };
        if (args.ids !== undefined) {
          const ids = [...new Set(args.ids)];
          const latest: Latest = new Map();
          await readStates(backend, ids, latest, true);
          status.tasks = Object.fromEntries(ids.map((id) => [id, latest.has(id) ? outcomeOf(latest.get(id)!) : UNKNOWN]));
        }
        return status;
      }),
  );
}

function registerTaskTools(server: McpServer, backend: Backend): void {
  server.registerTool(
    'getTask',
    {
      title: 'One task',
      description:
        'Everything about one task: agent, state, attempt, priority, group, timings, progress, its whole result (succeeded) or error ' +
        '(dead), and the history of failed attempts.',
      inputSchema: s.getTaskInput,
      outputSchema: s.getTaskOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ id }) => answer(async () => ({ ...(await backend.get(id)) })),
  );
  server.registerTool(
    'listTasks',
    {
      title: 'List tasks',
      description:
        'Tasks in submission order, filtered by state, agent and group, a page at a time (default 100): id, agent, state, attempt, ' +
        'timings and the error message of each, without inputs and results (getTask has them). When the page is full, `next` reads the next one.',
      inputSchema: s.listTasksInput,
      outputSchema: s.listTasksOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args) =>
      answer(async () => {
        const tasks = await backend.list(args);
        const full = tasks.length === (args.limit ?? 100);
        return { tasks: tasks.map(summaryOf), ...(full && tasks.length > 0 && { next: tasks.at(-1)!.id }) };
      }),
  );
  server.registerTool(
    'cancelTask',
    {
      title: 'Cancel a task',
      description:
        'Cancel a task: a queued one is dropped, a running one is stopped (its agent is signalled, then its thread or process ended). ' +
        'It will not run again. Returns cancelled: false when the task had already finished.',
      inputSchema: s.cancelTaskInput,
      outputSchema: s.cancelTaskOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ id, reason }) => answer(async () => ({ id, cancelled: await backend.cancel(id, reason) })),
  );
  server.registerTool(
    'redriveTasks',
    {
      title: 'Run dead tasks again',
      description:
        'Put dead tasks (attempts used up, or an unrecoverable error: listTasks with state "dead") back in the queue under the same ids, ' +
        'with a fresh retry budget. All or nothing: if one id is unknown or not dead, none is redriven and the error names it.',
      inputSchema: s.redriveTasksInput,
      outputSchema: s.redriveTasksOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    async ({ ids }) => answer(async () => ({ ids: await backend.redrive(ids) })),
  );
}

/** Registers every Troupe tool on `server`; `closing` ends executeParallel's waits (the server is closing). */
export function registerTools(server: McpServer, backend: Backend, closing?: AbortSignal): void {
  registerExecuteParallel(server, backend, closing);
  registerDistributeWork(server, backend);
  registerGetParallelStatus(server, backend);
  registerTaskTools(server, backend);
}

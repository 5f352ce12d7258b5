import { filter, firstValueFrom, mergeMap, type Observable } from 'rxjs';
import { ACTOR_NAMES, type ActorName } from '../core/messages.js';
import type { MetricsSnapshot } from '../actors/metrics/metrics-state.js';
import { SupervisorActor, type ShutdownReport } from '../engine/supervisor-actor.js';
import { fieldError, TroupeError } from '../core/errors.js';
import { toPublicEvents, type TroupeEvent } from './events.js';
import { resolveOptions, type SupervisorOptions } from './options.js';
import { checkCloneable, type SubmitRequest } from './submit.js';
import { validateBatch, validateOne } from './submit-checks.js';
import { unknownTask } from '../engine/outcomes.js';
import { validateGraph, type GraphTaskRequest } from './submit-graph.js';
import type { PipelineRule } from '../core/pipeline-options.js';
import { parseWith } from './validate.js';
import {
  deadLetterQuerySchema, getOptionsSchema, listQuerySchema, redriveOptionsSchema, taskFilterSchema,
  type DeadLetterQuery, type GetOptions, type ListQuery, type RedriveOptions, type ShutdownOptions, type TaskCounts, type TaskFilter,
} from './queries.js';
import { toTaskInfo, type TaskInfo, type TaskRecord } from '../core/task.js';
import { childPort } from './child-port.js';
import { planDistribution, type DistributeOptions, type Distribution } from './distribute.js';
import { adoptParent, buildTree, inSubtree, type TaskTree } from './family.js';
import { taskLogs, type LogLine, type LogsOptions } from './logs.js';
import { deadMatching } from './task-query.js';
import { agentsInfo, countOf, listTasks, taskInfo, type AgentInfo } from './task-reads.js';
import { probeReadiness, type Readiness } from './readiness.js';
import { setIntake, type IntakeState } from './intake-control.js';
import { eventObserver, type EventOptions } from './event-observer.js';
import { taskTerminal, type TaskTerminal } from './terminal.js';
import { breakerInfo, breakerKeys, checkForcedState, resolveBreakerKey, type BreakerInfo } from './breakers.js';

export type { AgentInfo, EventOptions, IntakeState, Readiness, DeadLetterQuery, GetOptions, ListQuery, RedriveOptions, ShutdownOptions, TaskCounts, TaskFilter };

/**
 * The public face of a Troupe runtime. Each call becomes a message to the actors behind it
 * (Queue, Agent, Breaker, Metrics) under a root supervisor; nothing here schedules or runs work.
 *
 * @example
 * const sup = await Supervisor.start({ agents: { hash: { module: './agents/hash.js' } } });
 * const id = await sup.submit({ agent: 'hash', input: { n: 1 } });
 * console.log(await sup.result(id));
 * await sup.shutdown();
 */
export class Supervisor {
  /** Lifecycle and runtime events, in the order the runtime recorded them. */
  readonly events$: Observable<TroupeEvent>;

  private constructor(private readonly root: SupervisorActor) {
    const taskOf = (id: string): { agent: string; attempt: number; parentId?: string } => root.ledger.get(id) ?? { agent: '', attempt: 0 };
    this.events$ = root.messages$.pipe(mergeMap((m) => toPublicEvents(m, taskOf)));
  }

  /**
   * Validates `options`, starts the thread pool, checks that every module agent loads, and starts
   * the actors. Rejects with `TROUPE_INVALID_OPTIONS`, `TROUPE_AGENT_MODULE_NOT_FOUND`, ... on bad input.
   */
  static async start(options: SupervisorOptions & EventOptions): Promise<Supervisor> {
    // `onEvent` is the facade's; the rest is validated whole (a non-object included).
    const isObject = options !== null && typeof options === 'object';
    const { onEvent, ...rest } = isObject ? options : { onEvent: undefined };
    const resolved = resolveOptions(isObject ? rest : options);
    // Child calls are served from the first task on (a recovered parent may submit at once).
    let sup: Supervisor | undefined;
    const root = await SupervisorActor.start(resolved, undefined, childPort(() => sup!), eventObserver(onEvent, resolved.logger));
    sup = new Supervisor(root);
    return sup;
  }

  /**
   * Accepts a task and resolves with its id once it is recorded. Rejects with a TroupeError
   * naming the field for an unknown agent or resource, a bad priority or an uncloneable input.
   *
   * @example
   * const id = await sup.submit({ agent: 'hash', input: { n: 1 }, priority: 'high', resources: ['gpu'] });
   */
  async submit(request: SubmitRequest): Promise<string> {
    this.assertOpen();
    return this.root.intake.submit(validateOne(this.root, request));
  }

  /**
   * Submits a graph of tasks that name each other in `dependsOn` (or name tasks submitted before,
   * by id), all or nothing: resolves with each task's id by name once all are recorded. A task runs
   * once its parents succeeded; on the graph's longest remaining path first (by `estimatedMs`, or
   * by task count), ahead of other tasks of its priority. Rejects with TROUPE_DEPENDENCY_CYCLE
   * naming a cycle, TROUPE_UNKNOWN_DEPENDENCY, or any error `submit()` gives, naming the task.
   *
   * @example
   * const ids = await sup.submitGraph([
   *   { name: 'edit', agent: 'coder', input: { file: 'a.ts' } },
   *   { name: 'review', agent: 'reviewer', dependsOn: ['edit'] }, // ctx.parents.edit is edit's result
   * ]);
   */
  async submitGraph(requests: readonly GraphTaskRequest[]): Promise<Record<string, string>> {
    this.assertOpen();
    const graph = validateGraph(requests, this.root.options, (id) => this.root.intake.has(id));
    for (const [i, request] of requests.entries()) adoptParent(graph.nodes.get(request.name)!.valid, request, this.root.ledger, `tasks[${i}]`);
    return this.root.intake.submitGraph(graph);
  }

  /**
   * Submits several tasks at once. Every one is validated first: if one is invalid, none is
   * accepted (the error names it, as `tasks[i].<field>`). Resolves with their ids, in order.
   */
  async submitBatch(requests: readonly SubmitRequest[]): Promise<string[]> {
    this.assertOpen();
    const valid = validateBatch(this.root, requests);
    return Promise.all(valid.map((v) => this.root.intake.submit(v)));
  }

  /**
   * Submits tasks spread over running manager tasks: each counts against its manager's
   * `maxChildren` and shows under it in `tree()`. With `at-dispatch` (the default) a task is bound
   * when it is dispatched, to the manager with the most free slots then; `round-robin`,
   * `least-loaded`, `capacity-aware` and `consistent-hash` (by `hashField`) bind at submission.
   * When a manager ends, its waiting tasks are bound anew among those left. Validated whole first,
   * like `submitBatch()`; resolves with the ids and each one's manager (null until dispatch).
   *
   * @example
   * const { ids } = await sup.distribute(tasks, { managers: [m1, m2, m3], strategy: 'consistent-hash', hashField: 'input.repo' });
   */
  async distribute(requests: readonly SubmitRequest[], options: DistributeOptions): Promise<Distribution> {
    this.assertOpen();
    const valid = validateBatch(this.root, requests);
    planDistribution(options, valid, requests, this.root.ledger, this.root.options);
    const ids = await Promise.all(valid.map((v) => this.root.intake.submit(v)));
    return { ids, bindings: Object.fromEntries(ids.map((id) => [id, this.root.ledger.get(id)?.managerId ?? null])) };
  }

  /**
   * Resolves with the task's result once it succeeds (`options.signal` gives up waiting: the
   * promise then rejects with the signal's reason). Rejects with `TROUPE_TASK_FAILED` (the
   * handler's error in `cause`) or `TROUPE_TASK_CANCELLED`, or `TROUPE_UNKNOWN_TASK`.
   */
  async result<T = unknown>(id: string, options: { signal?: AbortSignal } = {}): Promise<T> {
    return this.root.outcomes.result(id, options.signal) as Promise<T>;
  }

  /**
   * Tasks in submission order, filtered by state, agent and group, a page at a time.
   *
   * @example
   * const page = await sup.list({ state: 'queued', limit: 50 });
   * const next = await sup.list({ state: 'queued', limit: 50, after: page.at(-1)?.id });
   */
  async list(raw: ListQuery = {}): Promise<TaskInfo[]> {
    return listTasks(this.root, parseWith(listQuerySchema, raw, 'TROUPE_INVALID_OPTIONS', 'query'));
  }

  /**
   * How many tasks match `filter` (agent, group, since, until, search), in all and per state.
   *
   * @example
   * const { byState } = await sup.count({ agent: 'fetch' }); // { queued: 3, running: 2, dead: 1, ... }
   */
  async count(filter: TaskFilter = {}): Promise<TaskCounts> {
    return countOf(this.root, parseWith(taskFilterSchema, filter, 'TROUPE_INVALID_OPTIONS', 'filter'));
  }

  /**
   * The task as the runtime knows it now, or undefined if no task has this id: its state, attempts
   * and timings, children counts, worktree, and for a task not started yet why it waits (`waiting`).
   * Synchronous (it reads memory); `include: ['input']` adds its input.
   */
  get(id: string, options: GetOptions = {}): TaskInfo | undefined {
    const task = this.root.ledger.get(id);
    if (task === undefined) return undefined;
    return taskInfo(this.root, task, parseWith(getOptionsSchema, options, 'TROUPE_INVALID_OPTIONS', 'options').include);
  }

  /**
   * The task's kept output: command agents' stdout and stderr lines and module agents' `ctx.log`
   * messages, `{ attempt, stream, at, line }`, attempt by attempt. With `follow`, it keeps yielding
   * lines as they come until the task ends. Throws `TROUPE_UNKNOWN_TASK` for an unknown id.
   *
   * @example
   * for await (const { stream, line } of sup.logs(id, { follow: true })) console.log(stream, line);
   */
  logs(id: string, options: LogsOptions = {}): AsyncIterable<LogLine> {
    return taskLogs(this.root, id, options);
  }

  /**
   * The live terminal of a running task of a `tty` command agent: its output (the recent past,
   * then live), `write()` to type into it, `resize()`. Throws `TROUPE_UNKNOWN_TASK` for an unknown
   * id, `TROUPE_NO_TERMINAL` for a task without one now (not running, or its agent has no `tty`).
   *
   * @example
   * for await (const chunk of sup.terminal(id).output()) process.stdout.write(chunk);
   */
  terminal(id: string): TaskTerminal {
    return taskTerminal(this.root, id);
  }

  /**
   * The task and every task under it (its children, theirs, ...), each as `get()` shows it, or
   * undefined for an unknown id. At most 10,000 tasks: a node cut short says how many it left out.
   *
   * @example
   * const tree = sup.tree(managerId); // { task, children: [{ task, children: [] }, ...] }
   */
  tree(id: string): TaskTree | undefined {
    return buildTree(this.root.ledger, id);
  }

  /**
   * For front ends (the daemon): the running task a command process's TROUPE_TASK_TOKEN stands for,
   * or undefined (a forged token, or a task that no longer runs). Such a process may act on that
   * task's subtree only: see `inSubtree()`.
   */
  taskOfToken(token: string): string | undefined {
    const id = this.root.options.taskTokens.taskOf(token);
    return id !== undefined && this.root.ledger.get(id)?.state === 'running' ? id : undefined;
  }

  /** True when task `id` is `rootId` or one of its descendants (children, theirs, ...). */
  inSubtree(rootId: string, id: string): boolean {
    return inSubtree(this.root.ledger, rootId, id);
  }

  /**
   * Cancels a task: a queued task is dropped; a running one has its signal aborted, then its thread
   * terminated (module) or its process group killed (command) after the grace period. Resolves
   * true once it is cancelled, false if it had already finished.
   */
  async cancel(id: string, reason = 'cancelled by caller'): Promise<boolean> {
    if (typeof reason !== 'string' || reason.length > MAX_REASON) {
      throw fieldError('TROUPE_INVALID_TASK', 'reason', `must be a string of at most ${MAX_REASON} characters`, reason);
    }
    return this.root.outcomes.cancel(id, reason);
  }

  /**
   * Dead tasks (attempts used up, an unrecoverable error, or the start cap), most recently dead
   * first, each with its `history`: every unsuccessful run's error, duration and thread or process.
   */
  async deadLetters(raw: DeadLetterQuery = {}): Promise<TaskInfo[]> {
    const query = parseWith(deadLetterQuerySchema, raw, 'TROUPE_INVALID_OPTIONS', 'query');
    const limit = query.limit ?? 100;
    const dead = [...this.root.ledger.inState('dead')].filter((t) => query.agent === undefined || t.agent === query.agent);
    dead.sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
    return dead.slice(0, limit).map(toTaskInfo);
  }

  /**
   * Puts dead tasks back in the queue as new attempts of the same ids (attempt numbers go on; the
   * retry and start budgets start afresh). Checks every id first: if one is unknown or not dead,
   * none is redriven. Resolves with the ids once the redrive is recorded.
   *
   * @example
   * await sup.redrive((await sup.deadLetters()).map((t) => t.id));
   * await sup.redrive(id, { input: { url: 'https://fixed.example' } });
   */
  async redrive(ids: string | readonly string[], options: RedriveOptions = {}): Promise<string[]> {
    this.assertOpen();
    if (!Array.isArray(ids) && typeof ids !== 'string') throw fieldError('TROUPE_INVALID_TASK', 'ids', 'must be a task id or an array of them', ids);
    // A task listed twice is redriven once: its second copy would be refused after the first went through.
    const list = [...new Set<string>(typeof ids === 'string' ? [ids] : ids)];
    const tasks = list.map((id) => this.deadTask(id));
    parseWith(redriveOptionsSchema, options, 'TROUPE_INVALID_OPTIONS', 'options');
    const input = 'input' in options ? { value: options.input } : undefined;
    for (const task of input === undefined ? [] : tasks) {
      checkCloneable(task.agent, task.kind, input!.value, this.root.options.journal !== ':memory:');
    }
    return this.root.intake.redrive(tasks.map((t) => t.id), input);
  }

  /**
   * Redrives every dead letter matching `filter` (agent, group, since, until, search), as `redrive()`
   * does with their ids. Resolves with the ids redriven (none: an empty array).
   */
  async redriveAll(filter: TaskFilter = {}): Promise<string[]> {
    const ids = deadMatching(this.root.ledger.inState('dead'), parseWith(taskFilterSchema, filter, 'TROUPE_INVALID_OPTIONS', 'filter'));
    return ids.length === 0 ? [] : this.redrive(ids);
  }

  /**
   * The pipeline rules in force (`options.pipelines`, defaults applied), in the order given.
   *
   * @example
   * // options.pipelines: [{ from: 'edit', to: 'review' }, { from: 'edit', on: 'dead', to: 'triage' }]
   * sup.pipelines(); // [{ from: 'edit', on: 'succeeded', to: 'review', input: 'result' }, ...]
   */
  pipelines(): readonly PipelineRule[] {
    return this.root.options.pipelines;
  }

  /** Every breaker by key (`agent:<name>`, `resource:<name>`), as last recorded (the Breaker's decisions). */
  breakers(): Record<string, BreakerInfo> {
    const records = this.root.ledger.breakerRecords();
    return Object.fromEntries(breakerKeys(this.root.options).map((k) => [k, breakerInfo(records.get(k), this.root.options)]));
  }

  /** Every configured agent: its kind, whether its intake is paused, its queued and running tasks, its limit. */
  agents(): Record<string, AgentInfo> {
    return agentsInfo(this.root);
  }

  /**
   * Pauses an agent's intake: its queued tasks stay queued (running ones finish), submissions are
   * still accepted. Journaled: a restart keeps it paused. Resolves once recorded.
   *
   * @example
   * await sup.pause('deploy'); // ... await sup.resume('deploy');
   */
  async pause(agent: string): Promise<IntakeState> {
    return setIntake(this.root, agent, true);
  }

  /** Resumes a paused agent's intake: its queued tasks run again in their order. Resolves once recorded. */
  async resume(agent: string): Promise<IntakeState> {
    return setIntake(this.root, agent, false);
  }

  /**
   * Forces a breaker open (its tasks stay queued until it is forced closed) or closed (normal
   * operation resumes). `key` is `agent:<name>`, `resource:<name>`, or an unambiguous bare name.
   * Resolves with the breaker once the change is recorded.
   */
  async setBreaker(key: string, state: 'open' | 'closed'): Promise<BreakerInfo> {
    const resolved = resolveBreakerKey(key, this.root.options);
    const forced = checkForcedState(state, this.root.options);
    const changed = firstValueFrom(this.root.messages$.pipe(filter((m) => m.type === 'breaker.changed' && m.key === resolved && m.unchanged !== true)));
    this.root.publish({ type: 'breaker.force', key: resolved, state: forced, at: this.root.options.clock.now() });
    await changed;
    return this.breakers()[resolved]!;
  }

  /**
   * Checks that the runtime really runs work: a no-op job on a pool thread, within `timeoutMs`,
   * while intake is open and the journal writable. What a daemon's readiness endpoint reports.
   */
  async ready(timeoutMs = 2_000): Promise<Readiness> {
    return probeReadiness(this.root, timeoutMs);
  }

  /** Counters, queue depth per priority, pool size and use, latency percentiles. */
  snapshot(): MetricsSnapshot {
    return this.root.metrics.snapshot(this.root.options.clock.now());
  }

  /**
   * Stops intake, lets running tasks finish for up to `timeoutMs`, cancels what is left and closes
   * the pool. Safe to call more than once; every call resolves with the same report.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
      throw fieldError('TROUPE_INVALID_OPTIONS', 'shutdown.timeoutMs', 'must be an integer >= 0', timeoutMs);
    }
    return this.root.shutdown(timeoutMs);
  }

  /**
   * Chaos testing: makes the named actor throw while handling a message, as a bug in it would.
   * The supervisor restarts it (one-for-one) or, past the restart intensity, shuts down.
   */
  async injectFault(actor: ActorName): Promise<void> {
    if (!ACTOR_NAMES.includes(actor)) {
      throw fieldError('TROUPE_INVALID_OPTIONS', 'actor', `must be one of ${ACTOR_NAMES.join(', ')}`, actor);
    }
    this.root.publish({ type: 'debug.crash', actor });
  }

  private deadTask(id: unknown): TaskRecord {
    const task = typeof id === 'string' ? this.root.ledger.get(id) : undefined;
    if (task === undefined) throw unknownTask(id);
    if (task.state !== 'dead') throw fieldError('TROUPE_TASK_NOT_DEAD', 'id', `must name a dead task (it is ${task.state})`, id);
    return task;
  }

  private assertOpen(): void {
    if (!this.root.isStopping) return;
    throw new TroupeError('TROUPE_SHUTTING_DOWN', 'the supervisor is shutting down and accepts no new tasks', {
      cause: this.root.fatalError,
    });
  }

}

/** A cancel reason is kept with the task (journaled): a line, not a document. */
const MAX_REASON = 1_000;

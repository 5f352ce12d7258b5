import type { Logger } from 'pino';
import { Actor } from '../actor.js';
import type { Message, MessageType } from '../../core/messages.js';
import type { TaskView } from '../../core/views.js';
import { serializeError, TroupeError } from '../../core/errors.js';
import type { ResolvedOptions } from '../../core/config.js';
import type { AgentKind } from '../../core/task.js';
import { Policies } from './policies.js';
import { decideScale, initialScale, type ScaleLimits, type ScaleState } from './autoscale.js';
import { maxStartsError, outcomeMessage, stallError, stuckError, timeoutError, type Outcome } from './failure.js';
import type { TaskLogs } from './task-logs.js';
import type { ModuleRunner } from './module-runner.js';
import { startCommand, startModules, type Run, type RunSpec } from './run.js';
import { runHooks, type HookHost } from './run-hooks.js';
import { BATCH_MAX_TASKS, nextBatchSize, RunTimes } from './batching.js';
import { LaunchHold } from './launch-hold.js';
import { KINDS, SlotLedger } from './slots.js';
import { needsWorkspace, prepareWorkspace, withWorkspace, type Workspaces } from './workspace/run-workspace.js';

const ACCEPTS: ReadonlySet<MessageType> = new Set<MessageType>(['task.dispatch', 'task.started', 'task.cancel', 'queue.demand', 'queue.reset', 'pool.probe', 'debug.crash']);

/** The module a readiness probe loads and runs on a pool thread. */
const PROBE_URL = new URL('./probe-agent.js', import.meta.url).href;

/** How long after SIGKILL a cancelled command's pipes may stay open before the task is settled anyway. */
const ABANDON_AFTER_MS = 1_000;

/**
 * Runs dispatched tasks: module agents on the Piscina pool (short ones several to a pool message,
 * batching.ts), command agents as subprocesses. Grants the Queue credits for its free slots (flow
 * control) and autoscales the pool's admission between min and max threads on queue demand and
 * use. Stopping it stops all its work for real.
 */
export class AgentActor extends Actor {
  readonly accepts = ACCEPTS;
  private readonly runs = new Map<string, Run>();
  /** Credits granted, and tasks held starting, ready and launched (see its invariant). */
  private readonly slotLedger = new SlotLedger<RunSpec>((spec) => spec.task.id);
  /**
   * Credits per slot. When starts wait for the journal, 8× as many tasks as slots are admitted, so threads
   * work on some while others' starts are written (no-op 'fsync' throughput 0.39× -> 0.49× of no journal, 4 -> 8).
   */
  private readonly prefetch: number;
  private readonly limits: ScaleLimits;
  private scale: ScaleState;
  private waiting = 0;
  private lastStatus = '';
  private readonly ticker: NodeJS.Timeout;
  private readonly policies = new Policies();
  /** Thread deaths; too many pause module launches (the pool's restart-rate limit). */
  private readonly hold: LaunchHold;
  /** Handler times, which decide how module tasks share pool messages (batching.ts). */
  private readonly runTimes = new RunTimes();
  /** Module batches on the pool with a task not ended yet. */
  private batchesInFlight = 0;
  private turnPending = false;
  private readonly hookHost: HookHost;

  constructor(
    logger: Logger,
    private readonly tasks: TaskView,
    private readonly options: ResolvedOptions,
    private readonly pool: ModuleRunner,
    /** Which start of the runtime this is (from the journal); part of every lease. */
    private readonly incarnation: number,
    /** Runs `fn` once everything committed so far is durable (never, if it cannot become so). */
    private readonly whenDurable: (fn: () => void) => void,
    /** Where runs' output lines are kept, and tasks' git worktrees (agent option `workspace`). */
    logs: TaskLogs,
    private readonly workspaces: Workspaces,
  ) {
    super('agent', logger);
    this.hookHost = {
      clock: options.clock,
      publish: (msg) => this.guard(() => this.publish(msg)),
      timedOut: (taskId) => this.guard(() => this.failRun(taskId, (r) => timeoutError(r))),
      stalled: (taskId, silentMs) => this.guard(() => this.stalled(taskId, silentMs)),
      current: (taskId) => this.runs.get(taskId),
      ran: (agent, ms) => this.runTimes.record(agent, ms),
      logs,
      stuck: (taskId, line, pattern) => this.guard(() => this.failRun(taskId, (r) => stuckError(r, line, pattern))),
    };
    this.limits = options.pool;
    this.prefetch = options.durability === 'memory' ? 1 : 8;
    this.scale = initialScale(this.limits);
    this.hold = new LaunchHold(options.clock, options.pool.threadRestarts, this.log, () => this.guard(() => this.launchReady('module')));
    this.ticker = setInterval(() => this.guard(() => this.tick()), options.pool.autoscaleIntervalMs).unref();
  }

  protected override onStart(): void {
    this.pool.onThreadsChanged = () => this.guard(() => this.publishStatus());
    this.grantAfresh();
    this.publishStatus();
  }

  override async stop(): Promise<void> {
    await super.stop();
    this.pool.onThreadsChanged = undefined;
    clearInterval(this.ticker);
    this.hold.stop();
    for (const run of this.runs.values()) {
      this.options.clock.clearTimeout(run.graceTimer);
      run.watch?.clear();
      run.force();
    }
    this.runs.clear();
    this.slotLedger.clearWaiting(); // never launched; the supervisor puts them back in the queue
    const left = await this.pool.destroy();
    if (left > 0) this.log.error({ threads: left }, 'pool threads still running after shutdown; not waiting for them any longer');
  }

  protected receive(msg: Message): void {
    switch (msg.type) {
      case 'task.dispatch':
        for (const { taskId, attempt } of msg.tasks) this.runTask(taskId, attempt);
        return;
      case 'task.started':
        return this.startCommitted(msg.taskId, msg.lease);
      case 'task.cancel':
        return this.cancel(msg.taskId, msg.reason, msg.requeue === true);
      case 'queue.demand':
        this.waiting = msg.waiting.module;
        return this.rescale();
      case 'queue.reset':
        return this.grantAfresh();
      case 'pool.probe':
        return this.probe(msg.id);
      default:
        return;
    }
  }

  /** Runs a no-op job on a pool thread and reports how it went (readiness: the pool really runs work). */
  private probe(id: string): void {
    const t0 = this.options.clock.now();
    const ms = (): number => this.options.clock.now() - t0;
    this.pool.probe(PROBE_URL).then(
      () => this.guard(() => this.publish({ type: 'pool.probed', id, ok: true, ms: ms() })),
      (err: unknown) => this.guard(() => this.publish({ type: 'pool.probed', id, ok: false, ms: ms(), error: String((err as Error)?.message ?? err) })),
    );
  }

  /** Tasks of a kind that may run at once: pool admission or the process limit. */
  private slots(kind: AgentKind): number {
    return kind === 'module' ? this.scale.target * this.limits.concurrentTasksPerWorker : this.options.pool.maxProcesses;
  }

  /** Credits: `prefetch` per slot, and while module runs are short, enough more to fill a batch per slot twice. */
  private capacity(kind: AgentKind): number {
    const batches = kind === 'module' && this.runTimes.short ? 2 * BATCH_MAX_TASKS : 0;
    return this.slots(kind) * (this.prefetch + batches);
  }

  /** Forgets credits given out earlier and grants every free slot again (after a restart). */
  private grantAfresh(): void {
    for (const kind of KINDS) this.publish({ type: 'agent.reset', kind, credits: this.slotLedger.grantAfresh(kind, this.capacity(kind)) });
  }

  private refill(kind: AgentKind): void {
    const free = this.slotLedger.refill(kind, this.capacity(kind));
    if (free > 0) this.publish({ type: 'agent.credit', kind, n: free });
  }

  private runTask(taskId: string, attempt: number): void {
    const task = this.tasks.get(taskId);
    const config = task && this.options.agents.get(task.agent);
    if (task === undefined || config === undefined || task.state !== 'queued') {
      // Cancelled while its dispatch was on its way, say: nothing to run.
      this.log.debug({ taskId, state: task?.state }, 'dispatch of a task that is not queued; returning its credit');
      if (task !== undefined) this.publish({ type: 'agent.credit', kind: task.kind, n: 1 });
      return;
    }
    const policy = this.policies.of(task.agent, config, task.policy);
    if ((task.starts ?? 0) >= policy.retry.maxStarts) {
      // Started that often without an outcome (it crashes the runtime, say): it must not loop for ever.
      const at = this.options.clock.now();
      this.publish({ type: 'task.exhausted', taskId, error: serializeError(maxStartsError(task, policy.retry.maxStarts)), at });
      this.publish({ type: 'agent.credit', kind: task.kind, n: 1 });
      return;
    }
    const lease = `${this.incarnation}:${attempt}`;
    const parents = task.dependsOn === undefined ? undefined : this.parentResults(task.dependsOn);
    // The handler runs only once this start is durable: a crash or a power loss before it cannot hide a run.
    this.slotLedger.dispatched(config.kind, taskId, { task, attempt, lease, config, policy, ...(parents === undefined ? {} : { parents }) });
    this.publish({ type: 'task.started', taskId, attempt, lease, at: this.options.clock.now() });
  }

  /** What the handler gets in `ctx.parents`: each succeeded parent's result, by its graph name or id. */
  private parentResults(ids: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const id of ids) {
      const parent = this.tasks.get(id);
      if (parent?.state === 'succeeded') out[parent.name ?? id] = parent.result;
    }
    return out;
  }

  /**
   * A start is committed: its run may launch once the start is durable (a power loss cannot hide a
   * run). One this Agent does not hold was made by an Agent that crashed before it was committed
   * (the supervisor requeued what was running then, which this start was not yet): nobody will run
   * it, so it goes back to the queue.
   */
  private startCommitted(taskId: string, lease: string): void {
    const pending = this.slotLedger.starting(taskId);
    const task = this.tasks.get(taskId);
    if (pending !== undefined && (task?.state !== 'running' || task.lease !== lease)) {
      // Cancelled in the round its start was recorded in: it never runs.
      this.slotLedger.drop(taskId);
      return this.refill(pending.config.kind);
    }
    if (pending !== undefined) return this.whenDurable(() => this.guard(() => this.startDurable(taskId)));
    if (task?.state === 'running' && task.lease === lease) {
      this.publish({ type: 'task.requeued', taskId, reason: 'agent restarted', at: this.options.clock.now() });
    }
  }

  /** A start is durable: the task waits for a slot, unless it was cancelled or requeued meanwhile. */
  private startDurable(taskId: string): void {
    const pending = this.slotLedger.starting(taskId);
    if (pending !== undefined && needsWorkspace(pending)) {
      // Its worktree first (a retry finds it again); cancelled meanwhile, it is no longer starting.
      return void prepareWorkspace(this.workspaces, pending, () => this.slotLedger.starting(taskId) === pending).then(() => this.guard(() => this.startDurable(taskId)));
    }
    const ready = this.slotLedger.started(taskId);
    if (ready === undefined) return;
    if (ready.config.kind === 'command') return this.launchReady('command');
    this.afterTurn();
  }

  /**
   * Module launches and credits once per turn: every start made durable together (one round, one
   * fsync) goes out at once, so batches fill, and the outcomes of a batch grant their credits in one message.
   */
  private afterTurn(): void {
    if (this.turnPending) return;
    this.turnPending = true;
    queueMicrotask(() => this.guard(() => {
      this.turnPending = false;
      this.launchReady('module');
      this.refill('module');
      this.rescale();
    }));
  }

  private launchReady(kind: AgentKind): void {
    if (kind === 'command') {
      for (let spec = this.slotLedger.launchNext(kind, this.slots(kind)); spec !== undefined; spec = this.slotLedger.launchNext(kind, this.slots(kind))) {
        const { hooks, attach } = runHooks(spec, this.hookHost);
        this.track(spec, startCommand(spec, hooks, this.options.clock.now(), this.options.taskTokens.issue(spec.task.id)), attach);
      }
      return;
    }
    if (this.hold.held) return;
    const slots = this.slots('module');
    for (;;) {
      const size = nextBatchSize({
        ready: this.slotLedger.ready('module'),
        expected: (i) => this.runTimes.expected(this.slotLedger.peekReady('module', i)!.task.agent),
        inFlight: this.batchesInFlight,
        slots,
      });
      if (size === 0) return;
      const specs = Array.from({ length: size }, () => this.slotLedger.launchNext('module', Infinity)!);
      const made = specs.map((spec) => runHooks(spec, this.hookHost));
      const batch = { left: size };
      this.batchesInFlight += 1;
      const started = startModules(this.pool, specs.map((spec, i) => ({ spec, hooks: made[i]!.hooks })), this.options.clock.now());
      started.forEach((s, i) => {
        s.run.batch = batch;
        this.track(specs[i]!, s, made[i]!.attach);
      });
    }
  }

  private track(spec: RunSpec, started: { run: Run; done: Promise<unknown> }, attach: (run: Run) => void): void {
    const id = spec.task.id;
    attach(started.run);
    this.runs.set(id, started.run);
    withWorkspace(this.workspaces, spec, started).then(
      (value) => this.guard(() => this.finish(id, { ok: true, value })),
      (error) => this.guard(() => this.finish(id, { ok: false, error })),
    );
  }

  private stalled(taskId: string, silentMs: number): void {
    this.publish({ type: 'task.stalled', taskId, silentMs, at: this.options.clock.now() });
    this.failRun(taskId, (run) => stallError(run, silentMs));
  }

  /** Stops a run that the runtime failed (timeout, stall): signal first, then thread or process group. */
  private failRun(taskId: string, reason: (run: Run) => Error): void {
    const run = this.runs.get(taskId);
    if (run === undefined || run.cancelReason !== undefined || run.failure !== undefined) return;
    run.failure = reason(run);
    this.log.warn({ taskId, code: (run.failure as TroupeError).code, reason: run.failure.message }, 'stopping a failed run');
    this.stopRun(taskId, run);
  }

  /** Signal first; after the grace period, the thread or process group. Once per run. */
  private stopRun(taskId: string, run: Run): void {
    run.requestStop();
    run.graceTimer = this.options.clock.setTimeout(() => this.guard(() => this.forceStop(taskId, run)), run.graceMs);
  }

  private cancel(taskId: string, reason: string, requeue: boolean): void {
    if (this.dropWaiting(taskId, reason, requeue)) return;
    const run = this.runs.get(taskId);
    if (run === undefined || run.cancelReason !== undefined) return;
    run.cancelReason = reason;
    run.requeue = requeue;
    // A run already being stopped (timeout, stall) goes on stopping; its outcome becomes the cancel.
    if (run.failure === undefined) this.stopRun(taskId, run);
  }

  /** A task that is started but not launched yet stops at once: nothing of it runs. */
  private dropWaiting(taskId: string, reason: string, requeue: boolean): boolean {
    const dropped = this.slotLedger.drop(taskId);
    if (dropped === undefined) return false;
    const { spec: pending, kind } = dropped;
    const at = this.options.clock.now();
    if (requeue) this.publish({ type: 'task.requeued', taskId, reason, at });
    else this.publish({ type: 'task.cancelled', taskId, reason, lease: pending.lease, at });
    this.refill(kind);
    return true;
  }

  /**
   * The grace period is over. A module task loses its thread (its outcome follows). A command has
   * had SIGTERM then SIGKILL sent to its group by now; if something that left the group still
   * holds its pipes, the task is settled here rather than waiting on it for ever.
   */
  private forceStop(taskId: string, run: Run): void {
    run.force();
    if (run.kind === 'module') return;
    run.graceTimer = this.options.clock.setTimeout(
      () => this.guard(() => this.finish(taskId, { ok: false, error: new Error('process did not exit after SIGKILL') })),
      ABANDON_AFTER_MS,
    );
  }

  private finish(taskId: string, outcome: Outcome): void {
    const run = this.runs.get(taskId);
    if (run === undefined) return;
    this.runs.delete(taskId);
    this.hookHost.logs.end(taskId);
    this.options.clock.clearTimeout(run.graceTimer);
    run.watch?.clear();
    this.slotLedger.finished(run.kind);
    if (run.batch !== undefined && --run.batch.left === 0) this.batchesInFlight -= 1;
    // The outcome is the run's end: the Queue frees its slot when it is delivered, with what it unblocked.
    const msg = outcomeMessage(taskId, this.tasks.get(taskId), run, outcome, this.options.clock.now(), Math.random);
    if (msg !== undefined) this.publish(msg);
    if (!outcome.ok && (outcome.error as TroupeError | undefined)?.code === 'TROUPE_THREAD_DIED') this.hold.threadDied();
    if (run.kind === 'module') return this.afterTurn();
    this.launchReady(run.kind);
    this.refill(run.kind);
    this.rescale();
  }

  /** Re-decides the pool's target; on the hot path (every finish) it reports only a new target. */
  private rescale(): void {
    const before = this.scale.target;
    // Tasks admitted but not on a thread yet are demand, not use.
    const launched = this.slotLedger.launched('module');
    const input = { busy: launched, waiting: this.waiting + this.slotLedger.busy('module') - launched, now: this.options.clock.now() };
    this.scale = decideScale(this.scale, input, this.limits);
    if (this.scale.target === before) return;
    if (this.scale.target > before) {
      this.launchReady('module');
      this.refill('module');
    }
    this.publishStatus();
  }

  /** Periodic: shrinks after idleness and reports thread and use changes (at most once per interval). */
  private tick(): void {
    this.rescale();
    this.publishStatus();
  }

  /** Publishes pool size and use when they changed since the last report. */
  private publishStatus(): void {
    const threadIds = this.pool.threadIds();
    const size = threadIds.length;
    const slots = Math.max(1, size * this.limits.concurrentTasksPerWorker);
    const status = {
      size,
      target: this.scale.target,
      busy: this.slotLedger.launched('module'),
      utilisation: Math.min(1, this.slotLedger.launched('module') / slots),
      processes: this.slotLedger.launched('command'),
    };
    const key = `${status.target}/${status.busy}/${status.processes}/${threadIds.join(',')}`;
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    this.publish({ type: 'pool.status', ...status, threadIds });
  }
}

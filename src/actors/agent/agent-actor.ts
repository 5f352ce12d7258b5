import type { Logger } from 'pino';
import { Actor } from '../actor.js';
import type { Message, MessageType } from '../messages.js';
import type { TaskView } from '../supervisor/ledger.js';
import { serializeError } from '../../runtime/errors.js';
import type { AgentConfig, ResolvedOptions } from '../../runtime/options.js';
import type { AgentKind, TaskRecord } from '../../runtime/task.js';
import { decideScale, initialScale, type ScaleLimits, type ScaleState } from './autoscale.js';
import { runCommand } from './command-runner.js';
import type { ModuleRunner } from './module-runner.js';

const ACCEPTS: ReadonlySet<MessageType> = new Set<MessageType>([
  'task.dispatch',
  'task.cancel',
  'queue.depth',
  'queue.reset',
  'debug.crash',
]);

/** Heartbeats of one task closer together than this are coalesced. */
const HEARTBEAT_EVERY_MS = 1_000;

/** How long after SIGKILL a cancelled command's pipes may stay open before the task is settled anyway. */
const ABANDON_AFTER_MS = 1_000;

interface Run {
  readonly kind: AgentKind;
  /** `incarnation:attempt`: every message of this run carries it, so the ledger can fence it. */
  readonly lease: string;
  /** Asks the work to stop; `force` is called after the grace period if it has not. */
  readonly requestStop: () => void;
  readonly force: () => void;
  readonly graceMs: number;
  cancelReason?: string;
  /** Stopped to be resumed later (shutdown with a journal), not cancelled. */
  requeue?: boolean;
  graceTimer?: unknown;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs dispatched tasks: module agents on the Piscina pool, command agents as subprocesses.
 * Grants the Queue one credit per free slot (flow control) and autoscales the pool's admission
 * between min and max threads on queue demand and use. Stopping it stops all its work for real.
 */
export class AgentActor extends Actor {
  readonly accepts = ACCEPTS;
  private readonly runs = new Map<string, Run>();
  private readonly busy: Record<AgentKind, number> = { module: 0, command: 0 };
  private readonly outstanding: Record<AgentKind, number> = { module: 0, command: 0 };
  private readonly limits: ScaleLimits;
  private scale: ScaleState;
  private waiting = 0;
  private lastStatus = '';
  private readonly ticker: NodeJS.Timeout;

  constructor(
    logger: Logger,
    private readonly tasks: TaskView,
    private readonly options: ResolvedOptions,
    private readonly pool: ModuleRunner,
    /** Which start of the runtime this is (from the journal); part of every lease. */
    private readonly incarnation: number,
  ) {
    super('agent', logger);
    this.limits = options.pool;
    this.scale = initialScale(this.limits);
    this.ticker = setInterval(() => this.guard(() => this.tick()), options.pool.autoscaleIntervalMs).unref();
  }

  protected override onStart(): void {
    this.grantAfresh();
    this.publishStatus();
  }

  override async stop(): Promise<void> {
    await super.stop();
    clearInterval(this.ticker);
    for (const run of this.runs.values()) {
      this.options.clock.clearTimeout(run.graceTimer);
      run.force();
    }
    this.runs.clear();
    await this.pool.destroy();
  }

  protected receive(msg: Message): void {
    switch (msg.type) {
      case 'task.dispatch':
        return this.runTask(msg.taskId, msg.attempt);
      case 'task.cancel':
        return this.cancel(msg.taskId, msg.reason, msg.requeue === true);
      case 'queue.depth':
        this.waiting = msg.waiting.module;
        return this.rescale();
      case 'queue.reset':
        return this.grantAfresh();
      default:
        return;
    }
  }

  private capacity(kind: AgentKind): number {
    return kind === 'module' ? this.scale.target * this.limits.concurrentTasksPerWorker : this.options.pool.maxProcesses;
  }

  /** Forgets credits given out earlier and grants every free slot again (after a restart). */
  private grantAfresh(): void {
    for (const kind of ['module', 'command'] as const) {
      this.outstanding[kind] = Math.max(0, this.capacity(kind) - this.busy[kind]);
      this.publish({ type: 'agent.reset', kind, credits: this.outstanding[kind] });
    }
  }

  private refill(kind: AgentKind): void {
    const free = this.capacity(kind) - this.busy[kind] - this.outstanding[kind];
    if (free <= 0) return;
    this.outstanding[kind] += free;
    this.publish({ type: 'agent.credit', kind, n: free });
  }

  private runTask(taskId: string, attempt: number): void {
    const task = this.tasks.get(taskId);
    const config = task && this.options.agents[task.agent];
    if (task === undefined || config === undefined || task.state !== 'queued') {
      this.log.warn({ taskId, state: task?.state }, 'dispatch of a task that is not queued; returning its credit');
      if (task !== undefined) this.publish({ type: 'agent.credit', kind: task.kind, n: 1 });
      return;
    }
    this.outstanding[config.kind] -= 1;
    this.busy[config.kind] += 1;
    const lease = `${this.incarnation}:${attempt}`;
    this.publish({ type: 'task.started', taskId, attempt, lease, at: this.options.clock.now() });
    const { run, done } = this.launch(task, attempt, lease, config);
    this.runs.set(taskId, run);
    done.then(
      (value) => this.guard(() => this.finish(taskId, { ok: true, value })),
      (error) => this.guard(() => this.finish(taskId, { ok: false, error })),
    );
  }

  private launch(task: TaskRecord, attempt: number, lease: string, config: AgentConfig): { run: Run; done: Promise<unknown> } {
    const at = () => this.options.clock.now();
    let lastBeat = -Infinity;
    const hooks = {
      progress: (value: unknown, checkpoint = false) =>
        this.guard(() => this.publish({ type: 'task.progress', taskId: task.id, lease, value, checkpoint, at: at() })),
      heartbeat: () => {
        // Output activity counts as a heartbeat; one event per second per task is enough to show life.
        const now = at();
        if (now - lastBeat < HEARTBEAT_EVERY_MS) return;
        lastBeat = now;
        this.guard(() => this.publish({ type: 'task.heartbeat', taskId: task.id, at: now }));
      },
      log: (message: string) => this.guard(() => this.publish({ type: 'task.log', taskId: task.id, message, at: at() })),
    };
    if (config.kind === 'command') {
      const cmd = runCommand(config, { taskId: task.id, attempt, input: task.input, checkpoint: task.checkpoint }, hooks);
      const run: Run = { kind: 'command', lease, requestStop: cmd.stop, force: cmd.kill, graceMs: config.killGraceMs };
      return { run, done: cmd.done };
    }
    const job = this.pool.run(
      { moduleUrl: config.moduleUrl, taskId: task.id, attempt, input: task.input, checkpoint: task.checkpoint },
      hooks,
    );
    const run: Run = { kind: 'module', lease, requestStop: job.requestStop, force: job.terminate, graceMs: config.cancelGraceMs };
    return { run, done: job.done };
  }

  private cancel(taskId: string, reason: string, requeue: boolean): void {
    const run = this.runs.get(taskId);
    if (run === undefined || run.cancelReason !== undefined) return;
    run.cancelReason = reason;
    run.requeue = requeue;
    run.requestStop();
    run.graceTimer = this.options.clock.setTimeout(() => this.guard(() => this.forceStop(taskId, run)), run.graceMs);
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
    this.options.clock.clearTimeout(run.graceTimer);
    this.busy[run.kind] -= 1;
    const at = this.options.clock.now();
    const lease = run.lease;
    if (run.cancelReason !== undefined && run.requeue === true) {
      this.publish({ type: 'task.requeued', taskId, reason: run.cancelReason, at });
    } else if (run.cancelReason !== undefined) {
      this.publish({ type: 'task.cancelled', taskId, reason: run.cancelReason, lease, at });
    } else if (outcome.ok) {
      this.publish({ type: 'task.succeeded', taskId, lease, result: outcome.value, at });
    } else {
      this.publish({ type: 'task.failed', taskId, lease, error: serializeError(outcome.error), at });
    }
    this.publish({ type: 'run.ended', taskId });
    this.refill(run.kind);
    this.rescale();
  }

  /** Re-decides the pool's target; on the hot path (every finish) it reports only a new target. */
  private rescale(): void {
    const before = this.scale.target;
    const input = { busy: this.busy.module, waiting: this.waiting, now: this.options.clock.now() };
    this.scale = decideScale(this.scale, input, this.limits);
    if (this.scale.target === before) return;
    if (this.scale.target > before) this.refill('module');
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
      busy: this.busy.module,
      utilisation: Math.min(1, this.busy.module / slots),
      processes: this.busy.command,
    };
    const key = `${status.target}/${status.busy}/${status.processes}/${threadIds.join(',')}`;
    if (key === this.lastStatus) return;
    this.lastStatus = key;
    this.publish({ type: 'pool.status', ...status, threadIds });
  }
}

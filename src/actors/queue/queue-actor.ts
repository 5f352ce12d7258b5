import type { Logger } from 'pino';
import { Actor } from '../actor.js';
import type { BreakerState, Message, MessageOf, MessageType } from '../../core/messages.js';
import type { TaskView } from '../../core/views.js';
import type { Clock } from '../../core/clock.js';
import type { ResolvedOptions } from '../../core/config.js';
import { TERMINAL_STATES, type TaskRecord } from '../../core/task.js';
import { agentKey, gateKeys } from '../breaker/keys.js';
import { Scheduler } from './scheduler.js';
import { endedManagers, rebind } from './rebind.js';
import { configuredLimits } from './limits.js';
import type { RateLimits } from './rate-limits.js';
import type { WorkspaceBudget } from '../../core/workspace.js';

const ACCEPTS: ReadonlySet<MessageType> = new Set<MessageType>([
  'task.submitted',
  'task.cancel',
  'task.succeeded',
  'task.failed',
  'task.cancelled',
  'task.requeued',
  'task.due',
  'task.unblocked',
  'task.exhausted',
  'task.redriven',
  'task.bound',
  'agent.credit',
  'agent.reset',
  'breaker.changed',
  'agent.intake',
  'workspace.budget',
  'actor.restarted',
  'supervisor.draining',
  'debug.crash',
]);

/**
 * Holds queued tasks and decides what runs next. It dispatches only against credits granted by
 * the Agent actor, so a burst of submissions waits here, never in the thread pool's own queue.
 * Built from the task table, so a restarted Queue (or, later, a recovered runtime) resumes as is.
 */
export class QueueActor extends Actor {
  readonly accepts = ACCEPTS;
  private readonly scheduler: Scheduler;
  /** Tasks this queue handed out that have not finished yet. */
  private readonly dispatched = new Set<string>();
  private draining = false;
  private demandPending = false;
  /** Retry timers of delayed tasks. */
  private readonly delays = new Map<string, unknown>();
  /** Keys held back until a time (a RetryAfterError), and the timer that lets them go. */
  private readonly holds = new Map<string, { until: number; timer: unknown }>();
  /** Keys half-open now, indexed from the recorded breakers at each decision (dispatch skips trials while none is); the Queue decides nothing. */
  private readonly halfOpen = new Set<string>();
  private readonly halfOpenTrials: number;
  /** With `breaker: false`, breakers recorded earlier (a journal) hold nothing back. */
  private readonly breakersOn: boolean;
  /** Dispatched tasks with a half-open gate key (trials): their slot outlives their run. */
  private readonly trials = new Set<string>();
  /** Trials whose run is over, charged until the Breaker's decision naming them (`cause`) or no key of theirs is half-open: a failed trial frees its slot once its reopen is in force. */
  private readonly trialSlots = new Map<string, TaskRecord>();
  /** The timer that pumps again when a rate limit next admits a start, and when it is due. */
  private rateTimer: { at: number; handle: unknown } | undefined;

  /** `rates` is the root supervisor's: starts it counted survive this actor's restart and a restart from the journal. */
  constructor(
    logger: Logger,
    private readonly tasks: TaskView,
    private readonly options: Pick<ResolvedOptions, 'agents' | 'resources' | 'breaker' | 'groups' | 'groupConcurrency'>,
    private readonly clock: Clock,
    rates?: RateLimits,
    budget?: WorkspaceBudget,
  ) {
    super('queue', logger);
    this.halfOpenTrials = options.breaker === false ? 1 : options.breaker.halfOpenTrials;
    this.breakersOn = options.breaker !== false;
    this.scheduler = new Scheduler(configuredLimits(tasks, options, budget), rates);
    this.rebuild();
  }

  protected override onStart(): void {
    // Managers that ended while the Queue was down (or just before a crash) hand their waiting tasks on.
    for (const id of endedManagers(this.tasks.all(), this.tasks)) this.handOn(id);
    this.pump();
  }

  /**
   * A manager that ended hands its waiting tasks on. Decided here, not by the ledger: only the Queue
   * knows which of them it has dispatched already (those start under it, as they were charged). The
   * others leave the queue until their new binding is recorded, so none is dispatched meanwhile.
   */
  private handOn(id: string): void {
    if (this.tasks.boundTo(id) === undefined) return; // the usual case: not a manager
    const manager = this.tasks.get(id);
    if (manager !== undefined && !TERMINAL_STATES.has(manager.state)) return; // a failure that will retry
    for (const next of rebind(this.tasks, this.options, id, (t) => !this.dispatched.has(t.id), this.clock.now())) {
      this.scheduler.remove(this.tasks.get((next as { taskId: string }).taskId)!);
      this.publish(next);
    }
  }

  override async stop(): Promise<void> {
    await super.stop();
    for (const timer of this.delays.values()) this.clock.clearTimeout(timer);
    for (const hold of this.holds.values()) this.clock.clearTimeout(hold.timer);
    if (this.rateTimer !== undefined) this.clock.clearTimeout(this.rateTimer.handle);
  }

  protected receive(msg: Message): void {
    switch (msg.type) {
      case 'task.submitted':
        this.enqueueIfQueued(msg.task.id);
        break;
      case 'task.cancel':
        this.cancelQueued(msg.taskId, msg.reason);
        break;
      case 'task.succeeded':
      case 'task.cancelled':
      case 'task.exhausted':
        this.settle(msg.taskId, false);
        this.enqueueChildren(msg.taskId);
        this.handOn(msg.taskId);
        break;
      case 'task.failed':
        this.settle(msg.taskId, false);
        this.afterFailure(msg.taskId);
        this.enqueueChildren(msg.taskId);
        this.handOn(msg.taskId);
        break;
      case 'task.requeued':
        this.settle(msg.taskId, true);
        this.enqueueChildren(msg.taskId);
        break;
      case 'task.bound': // a task handOn took out comes back, in the lane of its new binding
        this.enqueueIfQueued(msg.taskId);
        break;
      case 'task.due':
      case 'task.unblocked':
      case 'task.redriven':
        this.enqueueIfQueued(msg.taskId);
        break;
      case 'agent.credit':
        this.scheduler.credits[msg.kind] += msg.n;
        break;
      case 'agent.reset':
        this.scheduler.credits[msg.kind] = msg.credits;
        break;
      case 'breaker.changed':
        this.obey(msg);
        break;
      case 'agent.intake':
        this.applyCap(agentKey(msg.agent));
        break;
      case 'actor.restarted':
        if (msg.actor === 'breaker') this.forgetTrials();
        break;
      case 'workspace.budget': // the scheduler reads the budget itself: pumping is all there is to do
        break;
      case 'supervisor.draining':
        this.draining = true;
        break;
      default:
        return;
    }
    this.pump();
  }

  /** Dispatches every task that may run now, in one message. */
  private pump(): void {
    // Made only when something is dispatched: pump runs on every message the Queue receives.
    let out: { taskId: string; attempt: number }[] | undefined;
    while (!this.draining) {
      const now = this.clock.now();
      const next = this.scheduler.next(now);
      if (next === undefined) {
        const wake = this.scheduler.wakeAt;
        if (wake !== undefined) this.wakeAt(wake);
        break;
      }
      const task = this.tasks.get(next.id);
      if (task?.state !== 'queued') {
        // Started by a dispatch of the Queue before a restart, say: not queued any more.
        this.scheduler.release(next);
        this.scheduler.credits[next.kind] += 1;
        continue;
      }
      // Bound as it is dispatched (`at-dispatch`): recorded before its start, so a restart keeps it there.
      const manager = this.scheduler.boundManager(next.id);
      if (manager !== undefined) this.publish({ type: 'task.bound', taskId: next.id, managerId: manager, at: this.clock.now() });
      this.dispatched.add(next.id);
      if (this.halfOpen.size > 0 && this.isTrial(next)) this.trials.add(next.id);
      (out ??= []).push({ taskId: next.id, attempt: task.attempt + 1 });
    }
    // One message for all of them: the Agent starts them in this order.
    if (out !== undefined) this.publish({ type: 'task.dispatch', tasks: out, at: this.clock.now() });
    this.scheduleDemand();
  }

  /** Pumps again at `at`, when a rate limit admits the next start (one timer: the earliest). */
  private wakeAt(at: number): void {
    if (this.rateTimer !== undefined && this.rateTimer.at <= at) return;
    if (this.rateTimer !== undefined) this.clock.clearTimeout(this.rateTimer.handle);
    const handle = this.clock.setTimeout(
      () => this.guard(() => {
        this.rateTimer = undefined;
        this.pump();
      }),
      Math.max(0, at - this.clock.now()),
    );
    this.rateTimer = { at, handle };
  }

  /**
   * A task that is not running is cancelled here wherever it waits: blocked, queued, delayed, and
   * also dispatched with its start not recorded yet (the Agent then finds it cancelled, or has
   * dropped it itself), or delayed with its `task.due` on its way. A running one is the Agent's.
   */
  private cancelQueued(id: string, reason: string): void {
    const task = this.tasks.get(id);
    if (task === undefined || task.state === 'running' || TERMINAL_STATES.has(task.state)) return;
    const delay = this.delays.get(id);
    if (delay !== undefined) {
      this.clock.clearTimeout(delay);
      this.delays.delete(id);
    }
    this.scheduler.remove(task);
    this.publish({ type: 'task.cancelled', taskId: id, reason, at: this.clock.now() });
  }

  /**
   * The children an ending unblocked (recorded in the same round, delivered right after it) join
   * the queue before the slot it freed is filled: the critical path competes for it.
   */
  private enqueueChildren(id: string): void {
    for (const child of this.tasks.childrenOf(id) ?? []) this.enqueueIfQueued(child);
  }

  /** Queues a task the ledger has queued, unless it was dispatched already (its start is not recorded yet). */
  private enqueueIfQueued(id: string): void {
    const task = this.tasks.get(id);
    if (task?.state === 'queued' && !this.dispatched.has(id)) this.scheduler.enqueue(task);
  }

  /** A failed run: the task runs again now, waits for its retry time, or is dead (nothing to do). */
  private afterFailure(id: string): void {
    const task = this.tasks.get(id);
    if (task === undefined) return;
    if (task.state === 'queued') this.scheduler.enqueue(task);
    if (task.state !== 'delayed' || task.retryAt === undefined) return;
    this.delay(task, task.retryAt);
    // A 429 speaks for the server, not the task: everything of the keys that gated it waits as long.
    if (task.error?.name === 'RetryAfterError') for (const key of gateKeys(task)) this.hold(key, task.retryAt);
  }

  /** Sends `task.due` at `retryAt` (at once if that has passed, as after a long downtime). */
  private delay(task: TaskRecord, retryAt: number): void {
    const timer = this.clock.setTimeout(
      () => this.guard(() => {
        this.delays.delete(task.id);
        this.publish({ type: 'task.due', taskId: task.id, at: this.clock.now() });
      }),
      Math.max(0, retryAt - this.clock.now()),
    );
    this.delays.set(task.id, timer);
  }

  private hold(key: string, until: number): void {
    const current = this.holds.get(key);
    if (current !== undefined && current.until >= until) return;
    if (current !== undefined) this.clock.clearTimeout(current.timer);
    const timer = this.clock.setTimeout(() => this.guard(() => this.release(key)), Math.max(0, until - this.clock.now()));
    this.holds.set(key, { until, timer });
    this.applyCap(key);
  }

  private release(key: string): void {
    this.holds.delete(key);
    this.applyCap(key);
    this.pump();
  }

  /** A key's cap: nothing while held, open or its agent paused, the trials half-open, no cap closed. */
  private applyCap(key: string): void {
    const state: BreakerState = (this.breakersOn ? this.tasks.breakerRecords().get(key)?.state : undefined) ?? 'closed';
    const paused = key.startsWith('agent:') && this.tasks.pausedAgents().has(key.slice('agent:'.length));
    const cap = paused || this.holds.has(key) || state === 'open' ? 0 : state === 'half-open' ? this.halfOpenTrials : Infinity;
    this.scheduler.setCap(key, cap);
  }

  /**
   * Applies a decision of the Breaker: the caps first, then the trial slot it settles. The records
   * hold every decision of the round this one came in, so all of them are applied, not this key's alone.
   */
  private obey(msg: MessageOf<'breaker.changed'>): void {
    const before = [...this.halfOpen];
    this.indexHalfOpen();
    for (const key of this.tasks.breakerRecords().keys()) this.applyCap(key);
    if (msg.cause !== undefined) this.freeTrialSlot(msg.cause);
    if ([...this.halfOpen].some((key) => !before.includes(key))) this.markTrials();
    if (before.some((key) => !this.halfOpen.has(key))) this.dropTrials();
  }

  private indexHalfOpen(): void {
    this.halfOpen.clear();
    if (!this.breakersOn) return;
    for (const [key, record] of this.tasks.breakerRecords()) if (record.state === 'half-open') this.halfOpen.add(key);
  }

  private isTrial(task: { agent: string; resources: readonly string[] }): boolean {
    return gateKeys(task).some((k) => this.halfOpen.has(k));
  }

  /** A key went half-open: what runs of it now is what its trials are (the Breaker counts their outcomes as such). */
  private markTrials(): void {
    for (const id of this.dispatched) {
      const task = this.tasks.get(id);
      if (task !== undefined && this.isTrial(task)) this.trials.add(id);
    }
  }

  /** A key left half-open: tasks with no half-open key left are trials no more, and their held slots go. */
  private dropTrials(): void {
    for (const id of this.trials) {
      const task = this.tasks.get(id);
      if (task === undefined || !this.isTrial(task)) this.trials.delete(id);
    }
    for (const [id, task] of this.trialSlots) if (!this.isTrial(task)) this.freeTrialSlot(id);
  }

  /** A restarted Breaker may have missed outcomes: no trial waits for a decision that may never come. */
  private forgetTrials(): void {
    this.trials.clear();
    for (const id of [...this.trialSlots.keys()]) this.freeTrialSlot(id);
  }

  private freeTrialSlot(id: string): void {
    const task = this.trialSlots.get(id);
    if (task === undefined) return;
    this.trialSlots.delete(id);
    this.scheduler.release(task);
  }

  /**
   * Releases what a finished run held, at its outcome (once). A trial's slot stays charged until the
   * Breaker's decision on its outcome arrives.
   */
  private settle(id: string, requeue: boolean): void {
    const task = this.tasks.get(id);
    if (task === undefined) return;
    if (this.dispatched.delete(id)) {
      if (!this.trials.delete(id)) this.scheduler.release(task);
      else {
        this.freeTrialSlot(id); // an earlier run of it (requeued) still undecided: one slot per task
        this.trialSlots.set(id, task);
      }
    }
    if (requeue && task.state === 'queued') this.scheduler.enqueue(task, true);
  }

  /** Demand is published at most once per microtask checkpoint, however many messages arrive. */
  private scheduleDemand(): void {
    if (this.demandPending) return;
    this.demandPending = true;
    queueMicrotask(() =>
      this.guard(() => {
        this.demandPending = false;
        this.publish({ type: 'queue.demand', waiting: this.scheduler.waiting(this.clock.now()) });
      }),
    );
  }

  /**
   * Rebuilds queue and usage from the task table: queued tasks in FIFO order, running ones charged,
   * delayed ones waiting for their retry (and the holds of their 429s), breakers as recorded.
   */
  private rebuild(): void {
    this.indexHalfOpen();
    for (const key of this.tasks.breakerRecords().keys()) this.applyCap(key);
    for (const agent of this.tasks.pausedAgents().keys()) this.applyCap(agentKey(agent));
    // One pass over the task table (a recovered backlog may hold hundreds of thousands).
    const queued: TaskRecord[] = [];
    const delayed: TaskRecord[] = [];
    for (const task of this.tasks.all()) {
      if (task.state === 'queued') queued.push(task);
      else if (task.state === 'delayed') delayed.push(task);
      else if (task.state === 'running') {
        this.scheduler.acquire(task);
        this.dispatched.add(task.id);
      }
    }
    if (this.halfOpen.size > 0) this.markTrials();
    queued.sort((a, b) => a.seq - b.seq);
    for (const task of queued) this.scheduler.enqueue(task);
    for (const task of delayed) this.afterFailure(task.id);
  }
}

import type { Observable, Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { Actor } from '../actors/actor.js';
import { ACTOR_NAMES, type ActorName, type Message, type MessageType } from '../core/messages.js';
import { AgentActor } from '../actors/agent/agent-actor.js';
import { createPool } from '../actors/agent/pool.js';
import { TaskLogs } from '../actors/agent/task-logs.js';
import { Workspaces } from '../actors/agent/workspace/workspaces.js';
import type { ModuleRunner } from '../actors/agent/module-runner.js';
import { BreakerActor } from '../actors/breaker/breaker-actor.js';
import { MetricsActor } from '../actors/metrics/metrics-actor.js';
import { MetricsState } from '../actors/metrics/metrics-state.js';
import { QueueActor } from '../actors/queue/queue-actor.js';
import { configuredRateLimits, RateLimits, restoreStarts } from '../actors/queue/rate-limits.js';
import { Ledger } from './ledger.js';
import { decideRestart } from './restart-policy.js';
import { LedgerBus } from './ledger-bus.js';
import { makeRouter } from './pipelines.js';
import { recover } from './recovery.js';
import { ENDINGS, orphanCancels, subtreeCancels } from './subtree.js';
import { Journal } from './journal/journal.js';
import { MemoryStore } from './journal/memory-store.js';
import type { Store } from './journal/store.js';
import { serializeError, TroupeError } from '../core/errors.js';
import type { ResolvedOptions } from '../core/config.js';
import { TERMINAL_STATES } from '../core/task.js';
import type { JournalInfo } from '../core/views.js';
import { Intake } from './intake.js';
import { Outcomes } from './outcomes.js';
import type { EnginePort } from './intake-port.js';
import type { ChildPort } from '../core/children.js';

export type { JournalInfo };

export interface ShutdownReport {
  /** Running tasks cancelled because they outlived the deadline (no journal). */
  cancelledRunning: number;
  /** Queued tasks cancelled because without a journal nothing can keep them. */
  cancelledQueued: number;
  /** Unfinished tasks kept in the journal, to resume at the next start. */
  kept: number;
}

interface Child {
  actor: Actor;
  subscriptions: Subscription[];
}

/** The store `journal:` names: memory, or a SQLite journal file. */
export function openStore(options: ResolvedOptions): Store {
  return options.journal === ':memory:' ? new MemoryStore() : Journal.open(options.journal, options.durability as 'fsync' | 'process');
}

/**
 * The root actor. It owns the task ledger and the message bus, starts the other actors and wires
 * their outboxes through the ledger into the bus, in one global order. It restarts a crashed actor
 * one-for-one within the restart intensity, and past it shuts the whole runtime down cleanly.
 */
export class SupervisorActor implements EnginePort {
  readonly ledger = new Ledger();
  readonly metrics: MetricsState;
  /** Tasks' output lines: files in `<journal>.logs/`, or memory without one. */
  readonly logs: TaskLogs;
  /** Tasks' git worktrees (agent option `workspace`): under `<journal>.worktrees/`, or a temporary directory. */
  readonly workspaces: Workspaces;
  /** Where submissions and redrives enter (records, ids, idempotency and cache races). */
  readonly intake: Intake;
  /** Callers waiting for outcomes (`result()`, `cancel()`). */
  readonly outcomes: Outcomes;
  /** Starts counted against rate limits: kept here so that a restarted Queue does not start afresh. */
  readonly rates: RateLimits;
  private readonly bus: LedgerBus;
  private readonly children = new Map<ActorName, Child>();
  /** Which actors' inboxes each message type goes to (`route()`). */
  private readonly routes = new Map<MessageType, Actor[]>();
  private readonly crashes = new Map<ActorName, number[]>();
  private readonly log: Logger;
  private readonly retentionTimer: NodeJS.Timeout;
  private stopping: Promise<ShutdownReport> | undefined;
  private childPort: ChildPort | undefined;
  private fatal: TroupeError | undefined;

  private constructor(
    readonly options: ResolvedOptions,
    private readonly store: Store,
  ) {
    this.log = options.logger.child({ actor: 'supervisor' });
    const logsDir = options.journal === ':memory:' ? undefined : `${options.journal}.logs`;
    this.logs = new TaskLogs(logsDir, options.logs.maxBytesPerTask, this.log);
    this.workspaces = new Workspaces(logsDir === undefined ? undefined : `${options.journal}.worktrees`, options.agents, options.logger.child({ actor: 'workspaces' }));
    this.workspaces.budget$.subscribe((repo) => this.publish({ type: 'workspace.budget', repo, held: this.workspaces.held(repo), at: options.clock.now() }));
    this.rates = new RateLimits(configuredRateLimits(options));
    const { minThreads, maxThreads, concurrentTasksPerWorker } = options.pool;
    this.metrics = new MetricsState(
      { minThreads, maxThreads, concurrentTasksPerWorker },
      () => this.ledger.queuedByPriority(),
      (state) => this.ledger.count(state),
      () => this.journalInfo(),
      this.ledger,
      (now) => this.rates.snapshot(now),
    );
    this.ledger.setRouter(makeRouter(options.pipelines, (agent) => options.agents.get(agent)!.kind, () => this.ledger.nextSeq()));
    this.bus = new LedgerBus(this.ledger, store, this.log);
    this.intake = new Intake(this);
    this.outcomes = new Outcomes(this);
    this.bus.messages$.subscribe((m) => {
      const to = this.routes.get(m.type);
      if (to !== undefined) for (const actor of to) actor.inbox.next(m);
      // Only an ending can cancel a subtree; the clock is read then (a number read allocates).
      if (!ENDINGS.has(m.type)) return;
      if (this.workspaces.any) this.workspaceEnded((m as { taskId: string }).taskId);
      for (const next of subtreeCancels(this.ledger, options, m, options.clock.now())) this.publish(next);
    });
    this.retentionTimer = setInterval(() => this.prune(), options.retention.intervalMs).unref();
  }

  /**
   * Opens the journal and replays it, starts the pool, checks every module agent loads in a
   * thread, then starts the actors. Tasks that were running under the dead incarnation go back
   * to the queue (attempt + 1 when they run again); queued ones resume in priority order.
   */
  // `observe` subscribes before recovery: it sees every message, `supervisor.recovered` included.
  static async start(options: ResolvedOptions, open = openStore, children?: ChildPort, observe?: (messages$: Observable<Message>, tasks: Ledger) => void): Promise<SupervisorActor> {
    const opened = options.clock.now();
    const store = open(options);
    const root = new SupervisorActor(options, store);
    observe?.(root.messages$, root.ledger);
    root.childPort = children;
    const pool = root.newPool();
    try {
      await root.probeAgents(pool);
    } catch (err) {
      clearInterval(root.retentionTimer);
      root.workspaces.close();
      store.close();
      await pool.destroy();
      throw err;
    }
    const recovery = root.durable ? recover(root.ledger, store, (m) => root.publish(m), options.clock) : undefined;
    // Starts within the last window still count: a restart must not grant a fresh burst.
    const now = options.clock.now();
    if (root.durable && root.rates.any) restoreStarts(root.rates, store.recentStarts(now - root.rates.longestMs), now);
    root.bus.flushNow();
    root.logs.sweep((id) => root.ledger.get(id) !== undefined);
    // Worktrees no task owns go before anything runs; those of tasks that will run again stay.
    if (root.workspaces.any) await root.workspaces.start((id) => root.ledger.get(id));
    // All actors are wired before any starts, so none misses another's first messages.
    const actors = ACTOR_NAMES.map((name) => root.spawn(name, pool));
    for (const actor of actors) actor.start();
    // Children of parents that ended under `cancel` just before the last stop: cancelled now the actors listen.
    if (recovery !== undefined) {
      const now = options.clock.now();
      for (const next of orphanCancels(root.ledger, options, now)) root.publish(next);
    }
    if (recovery !== undefined) root.publish({ type: 'supervisor.recovered', ...recovery, ms: options.clock.now() - opened, at: options.clock.now() });
    root.bus.flushNow(); // the actors' first reports (credits, pool size) are in before start() resolves
    return root;
  }

  /** Every message, in the order the ledger recorded it. */
  get messages$(): Observable<Message> {
    return this.bus.messages$;
  }

  /** The journal's file, durability, incarnation and write counts; null without a journal. */
  journalInfo(): JournalInfo | null {
    if (!this.durable) return null;
    const { path, incarnation, stats } = this.store;
    return { path, durability: this.options.durability, incarnation, ...stats, writeError: this.bus.writeError?.code ?? null };
  }

  /** Which start of the runtime this is: 1 without a journal, one more at each start of a journal. */
  get incarnation(): number {
    return this.store.incarnation;
  }

  /** True when the store outlives the process (a journal file), false in memory. */
  get durable(): boolean {
    return this.options.journal !== ':memory:';
  }

  /** Why the runtime stopped on its own, if it did. */
  get fatalError(): TroupeError | undefined {
    return this.fatal;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Runs `fn` once everything committed so far is durable (at once if it is); `fail` if it never will be. */
  afterDurable(fn: () => void, fail?: (err: Error) => void): void {
    this.bus.afterDurable(fn, fail);
  }

  /** Records `msg` (ledger, then journal) and delivers it to every subscriber, in one global order. */
  publish(msg: Message): void {
    this.bus.publish(msg);
  }

  /** Resolves once task `id`'s submission is durable (at once if it is); rejects if the journal refuses it. */
  submissionDurable(id: string): Promise<void> {
    return this.bus.submissionDurable(id);
  }

  /** Publishes `msg` and resolves once it is committed; rejects with the journal's error if not. */
  publishCommitted(msg: Message): Promise<void> {
    return this.bus.publishCommitted(msg);
  }

  /** A task's ending: its worktree goes now, unless a retry or its keep policy holds it. */
  private workspaceEnded(taskId: string): void {
    const task = this.ledger.get(taskId);
    if (task !== undefined && TERMINAL_STATES.has(task.state)) this.workspaces.ended(taskId, task.agent, task.state);
  }

  /** Drops finished tasks past the retention limits, from memory and journal, and checkpoints the WAL. */
  prune(): void {
    const { maxAgeMs, maxFinished } = this.options.retention;
    const gone = this.ledger.prune(this.options.clock.now() - maxAgeMs, maxFinished);
    this.logs.prune(gone);
    this.workspaces.prune(gone);
    try {
      this.bus.prune(gone);
    } catch (err) {
      // Pruned from memory only: the rows stay until a later prune reaches them again at start.
      this.log.warn({ err, tasks: gone.length }, 'pruning the journal failed');
    }
  }

  /** Stops intake, lets running work finish until `timeoutMs`, cancels the rest, stops every actor. */
  shutdown(timeoutMs: number, reason = 'shutdown'): Promise<ShutdownReport> {
    this.stopping ??= this.drainAndStop(timeoutMs, reason);
    return this.stopping;
  }

  private newPool(): ModuleRunner {
    const modules = [...this.options.agents.values()].flatMap((a) => (a.kind === 'module' ? [a.moduleUrl] : []));
    const runner = createPool(this.options.pool, this.options.logger, modules);
    runner.childPort = () => this.childPort;
    return runner;
  }

  private async probeAgents(pool: ModuleRunner): Promise<void> {
    for (const [name, agent] of this.options.agents) {
      if (agent.kind !== 'module') continue;
      try {
        await pool.probe(agent.moduleUrl);
      } catch (cause) {
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new TroupeError('TROUPE_AGENT_MODULE_INVALID', `options.agents.${name}.module: ${reason}`, {
          cause,
          details: { field: `options.agents.${name}.module`, value: agent.module },
        });
      }
    }
  }

  private create(name: ActorName, pool: ModuleRunner | undefined): Actor {
    const { logger, clock } = this.options;
    switch (name) {
      case 'queue':
        return new QueueActor(logger, this.ledger, this.options, clock, this.rates, this.workspaces);
      case 'agent':
        return new AgentActor(logger, this.ledger, this.options, pool ?? this.newPool(), this.incarnation, (fn) => this.bus.afterDurable(fn), this.logs, this.workspaces);
      case 'breaker':
        return new BreakerActor(logger, this.ledger, this.options.breaker, clock);
      case 'metrics':
        return new MetricsActor(logger, this.ledger, this.metrics, this.options.alerts, clock);
    }
  }

  private spawn(name: ActorName, pool?: ModuleRunner): Actor {
    const actor = this.create(name, pool);
    const subscriptions = [actor.outbox$.subscribe((m) => this.publish(m)), actor.crashed$.subscribe((err) => this.onCrash(name, err))];
    this.children.set(name, { actor, subscriptions });
    this.route();
    return actor;
  }

  /**
   * Rebuilds the routing table: for each message type, the inboxes of the actors that accept it, in
   * actor order. One subscriber on the bus routes every message by its type (instead of one filter
   * per actor seeing every message).
   */
  private route(): void {
    this.routes.clear();
    for (const name of ACTOR_NAMES) {
      const child = this.children.get(name);
      if (child === undefined) continue;
      for (const type of child.actor.accepts) {
        const to = this.routes.get(type);
        if (to === undefined) this.routes.set(type, [child.actor]);
        else to.push(child.actor);
      }
    }
  }

  /** Unwires an actor and stops it (its timers, pool and processes). */
  private async retire(name: ActorName): Promise<void> {
    const child = this.children.get(name);
    if (child === undefined) return;
    this.children.delete(name);
    this.route();
    for (const s of child.subscriptions) s.unsubscribe();
    await child.actor.stop();
  }

  private onCrash(name: ActorName, err: unknown): void {
    const now = this.options.clock.now();
    this.publish({ type: 'actor.crashed', actor: name, error: serializeError(err), at: now });
    this.retire(name).catch((e: unknown) => this.log.error({ err: e, name }, 'stopping a crashed actor failed'));
    if (this.stopping !== undefined) return;
    const decision = decideRestart(this.crashes.get(name) ?? [], now, this.options.supervision);
    this.crashes.set(name, decision.history);
    if (decision.action === 'shutdown') {
      const limit = `${this.options.supervision.maxRestarts} restarts in ${this.options.supervision.periodMs} ms`;
      this.fatal = new TroupeError('TROUPE_RESTART_INTENSITY', `actor ${name} crashed more than ${limit}`, { cause: err });
      this.log.error({ err, actor: name }, 'restart intensity exceeded; shutting down');
      void this.shutdown(0, `restart intensity exceeded by ${name}`);
      return;
    }
    this.restart(name, now);
  }

  private restart(name: ActorName, now: number): void {
    // The Agent's work died with it: its running tasks go back to the queue.
    if (name === 'agent') {
      // Each goes to the front of its lane, so the latest submitted goes first to keep FIFO order.
      const lost = [...this.ledger.inState('running')].sort((a, b) => b.seq - a.seq);
      for (const task of lost) {
        this.publish({ type: 'task.requeued', taskId: task.id, reason: 'agent restarted', at: now });
      }
    }
    this.spawn(name).start();
    const restarts = this.crashes.get(name)?.length ?? 1;
    this.log.warn({ actor: name, restarts }, 'actor restarted');
    this.publish({ type: 'actor.restarted', actor: name, restarts, at: now });
    if (name === 'queue') this.publish({ type: 'queue.reset' });
  }

  /**
   * Running tasks that outlive the deadline are stopped: cancelled without a journal, put back in
   * the queue with one (they resume at the next start, as queued tasks do).
   */
  private async drainAndStop(timeoutMs: number, reason: string): Promise<ShutdownReport> {
    const durable = this.durable;
    this.publish({ type: 'supervisor.draining', at: this.options.clock.now() });
    await this.waitFor(() => this.ledger.count('running') === 0, timeoutMs);
    const overdue = [...this.ledger.inState('running')];
    const at = this.options.clock.now();
    for (const task of overdue) this.publish({ type: 'task.cancel', taskId: task.id, reason, requeue: durable, at });
    const grace = Math.max(...[...this.options.agents.values()].map((a) => (a.kind === 'module' ? a.cancelGraceMs : a.killGraceMs)));
    await this.waitFor(() => this.ledger.count('running') === 0, grace + 1_000);
    await Promise.all([...this.children.keys()].map((name) => this.retire(name)));
    const report = this.settleLeftovers(reason, overdue.length);
    this.publish({ type: 'supervisor.stopped', reason, at: this.options.clock.now() });
    clearInterval(this.retentionTimer);
    this.logs.close();
    this.workspaces.close();
    try {
      try {
        this.bus.close();
      } finally {
        this.store.close();
      }
    } catch (err) {
      // A disk that is full or failing at the very end: what was committed stays; the rest was never acknowledged.
      this.log.error({ err }, 'closing the journal failed');
    }
    return report;
  }

  /** Without a journal, what is unfinished ends here, visibly; with one, it is kept for the next start. */
  private settleLeftovers(reason: string, overdue: number): ShutdownReport {
    const at = this.options.clock.now();
    const running = [...this.ledger.inState('running')];
    const queued = [...this.ledger.inState('queued'), ...this.ledger.inState('delayed')];
    if (this.durable) {
      for (const task of running) this.publish({ type: 'task.requeued', taskId: task.id, reason, at });
      return { cancelledRunning: 0, cancelledQueued: 0, kept: running.length + queued.length };
    }
    for (const task of [...running, ...queued]) this.publish({ type: 'task.cancelled', taskId: task.id, reason, at });
    return { cancelledRunning: overdue, cancelledQueued: queued.length, kept: 0 };
  }

  /** Resolves when `condition` holds (checked after every message) or after `ms`. */
  private waitFor(condition: () => boolean, ms: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        sub.unsubscribe();
        this.options.clock.clearTimeout(timer);
        resolve();
      };
      const timer = this.options.clock.setTimeout(done, ms);
      const sub = this.bus.messages$.subscribe({ next: () => condition() && done(), complete: done });
    });
  }
}

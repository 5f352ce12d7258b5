import Denque from 'denque';
import { Subject, filter, type Observable, type Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { Actor } from '../actor.js';
import { ACTOR_NAMES, type ActorName, type Message } from '../messages.js';
import { AgentActor } from '../agent/agent-actor.js';
import { createPool } from '../agent/pool.js';
import type { ModuleRunner } from '../agent/module-runner.js';
import { BreakerActor } from '../breaker/breaker-actor.js';
import { MetricsActor } from '../metrics/metrics-actor.js';
import { MetricsState } from '../metrics/metrics-state.js';
import { QueueActor } from '../queue/queue-actor.js';
import { Ledger } from './ledger.js';
import { decideRestart } from './restart-policy.js';
import { serializeError, TroupeError } from '../../runtime/errors.js';
import type { ResolvedOptions } from '../../runtime/options.js';


export interface ShutdownReport {
  /** Running tasks that had to be cancelled because they outlived the deadline. */
  cancelledRunning: number;
  /** Queued tasks cancelled because the in-memory journal cannot keep them. */
  cancelledQueued: number;
}

interface Child {
  actor: Actor;
  subscriptions: Subscription[];
}

/**
 * The root actor. It owns the task ledger and the message bus, starts the other actors and wires
 * their outboxes through the ledger into the bus, in one global order. It restarts a crashed actor
 * one-for-one within the restart intensity, and past it shuts the whole runtime down cleanly.
 */
export class SupervisorActor {
  readonly ledger = new Ledger();
  readonly metrics: MetricsState;
  private readonly bus = new Subject<Message>();
  private readonly pending = new Denque<Message>();
  private readonly children = new Map<ActorName, Child>();
  private readonly crashes = new Map<ActorName, number[]>();
  private readonly log: Logger;
  private delivering = false;
  private stopping: Promise<ShutdownReport> | undefined;
  private fatal: TroupeError | undefined;

  private constructor(readonly options: ResolvedOptions) {
    this.log = options.logger.child({ actor: 'supervisor' });
    const { minThreads, maxThreads, concurrentTasksPerWorker } = options.pool;
    this.metrics = new MetricsState({ minThreads, maxThreads, concurrentTasksPerWorker });
  }

  /** Starts the pool, checks every module agent loads in a thread, then starts the actors. */
  static async start(options: ResolvedOptions): Promise<SupervisorActor> {
    const root = new SupervisorActor(options);
    const pool = root.newPool();
    try {
      await root.probeAgents(pool);
    } catch (err) {
      await pool.destroy();
      throw err;
    }
    // All actors are wired before any starts, so none misses another's first messages.
    const actors = ACTOR_NAMES.map((name) => root.spawn(name, pool));
    for (const actor of actors) actor.start();
    return root;
  }

  /** Every message, in the order the ledger recorded it. */
  get messages$(): Observable<Message> {
    return this.bus.asObservable();
  }

  /** Why the runtime stopped on its own, if it did. */
  get fatalError(): TroupeError | undefined {
    return this.fatal;
  }

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /**
   * Records `msg` in the ledger and delivers it to every subscriber. Messages published while a
   * delivery is under way wait their turn, so every subscriber sees one order. Refused transitions
   * (a second outcome for a task, say) are dropped here.
   */
  publish(msg: Message): void {
    this.pending.push(msg);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let next = this.pending.shift(); next !== undefined; next = this.pending.shift()) {
        if (this.ledger.apply(next)) this.bus.next(next);
      }
    } finally {
      this.delivering = false;
    }
  }

  /** Stops intake, lets running work finish until `timeoutMs`, cancels the rest, stops every actor. */
  shutdown(timeoutMs: number, reason = 'shutdown'): Promise<ShutdownReport> {
    this.stopping ??= this.drainAndStop(timeoutMs, reason);
    return this.stopping;
  }

  private newPool(): ModuleRunner {
    const modules = Object.values(this.options.agents).flatMap((a) => (a.kind === 'module' ? [a.moduleUrl] : []));
    return createPool(this.options.pool, this.options.logger, modules);
  }

  private async probeAgents(pool: ModuleRunner): Promise<void> {
    for (const [name, agent] of Object.entries(this.options.agents)) {
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
        return new QueueActor(logger, this.ledger, this.options, clock);
      case 'agent':
        return new AgentActor(logger, this.ledger, this.options, pool ?? this.newPool());
      case 'breaker':
        return new BreakerActor(logger, this.ledger, this.options.breaker, clock);
      case 'metrics':
        return new MetricsActor(logger, this.ledger, this.metrics);
    }
  }

  private spawn(name: ActorName, pool?: ModuleRunner): Actor {
    const actor = this.create(name, pool);
    const subscriptions = [
      this.bus.pipe(filter((m) => actor.accepts.has(m.type))).subscribe(actor.inbox),
      actor.outbox$.subscribe((m) => this.publish(m)),
      actor.crashed$.subscribe((err) => this.onCrash(name, err)),
    ];
    this.children.set(name, { actor, subscriptions });
    return actor;
  }

  private retire(name: ActorName): void {
    const child = this.children.get(name);
    if (child === undefined) return;
    this.children.delete(name);
    for (const s of child.subscriptions) s.unsubscribe();
    child.actor.stop().catch((err: unknown) => this.log.error({ err, name }, 'stopping a crashed actor failed'));
  }

  private onCrash(name: ActorName, err: unknown): void {
    const now = this.options.clock.now();
    this.publish({ type: 'actor.crashed', actor: name, error: serializeError(err), at: now });
    this.retire(name);
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

  private async drainAndStop(timeoutMs: number, reason: string): Promise<ShutdownReport> {
    this.publish({ type: 'supervisor.draining', at: this.options.clock.now() });
    await this.waitFor(() => this.ledger.count('running') === 0, timeoutMs);
    const overdue = [...this.ledger.inState('running')];
    for (const task of overdue) this.publish({ type: 'task.cancel', taskId: task.id, reason, at: this.options.clock.now() });
    const grace = Math.max(...Object.values(this.options.agents).map((a) => (a.kind === 'module' ? a.cancelGraceMs : a.killGraceMs)));
    await this.waitFor(() => this.ledger.count('running') === 0, grace + 1_000);
    await Promise.all([...this.children.keys()].map((name) => this.stopChild(name)));
    const now = this.options.clock.now();
    // Whatever is still unfinished cannot survive without a journal: it ends here, visibly.
    const queued = [...this.ledger.inState('queued')];
    for (const task of [...this.ledger.inState('running'), ...queued]) {
      this.publish({ type: 'task.cancelled', taskId: task.id, reason, at: now });
    }
    this.publish({ type: 'supervisor.stopped', reason, at: now });
    this.bus.complete();
    return { cancelledRunning: overdue.length, cancelledQueued: queued.length };
  }

  private async stopChild(name: ActorName): Promise<void> {
    const child = this.children.get(name)!;
    this.children.delete(name);
    for (const s of child.subscriptions) s.unsubscribe();
    await child.actor.stop();
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
      const sub = this.bus.subscribe({ next: () => condition() && done(), complete: done });
    });
  }
}

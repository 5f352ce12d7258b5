import type { Logger } from 'pino';
import { Actor } from '../actor.js';
import type { Message, MessageType } from '../messages.js';
import type { TaskView } from '../supervisor/ledger.js';
import type { Clock } from '../../runtime/clock.js';
import type { ResolvedOptions } from '../../runtime/options.js';
import type { TaskRecord } from '../../runtime/task.js';
import { Scheduler } from './scheduler.js';

const ACCEPTS: ReadonlySet<MessageType> = new Set<MessageType>([
  'task.submitted',
  'task.cancel',
  'task.succeeded',
  'task.failed',
  'task.cancelled',
  'task.requeued',
  'run.ended',
  'agent.credit',
  'agent.reset',
  'breaker.changed',
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

  constructor(
    logger: Logger,
    private readonly tasks: TaskView,
    options: Pick<ResolvedOptions, 'agents' | 'resources'>,
    private readonly clock: Clock,
  ) {
    super('queue', logger);
    this.scheduler = new Scheduler({
      agentConcurrency: (agent) => options.agents[agent]?.concurrency ?? Infinity,
      resourceConcurrency: (resource) => options.resources[resource]?.concurrency ?? Infinity,
    });
    this.rebuild();
  }

  protected override onStart(): void {
    this.pump();
  }

  protected receive(msg: Message): void {
    switch (msg.type) {
      case 'task.submitted':
        this.scheduler.enqueue(msg.task);
        break;
      case 'task.cancel':
        this.cancelQueued(msg.taskId, msg.reason);
        break;
      case 'run.ended':
      case 'task.succeeded':
      case 'task.failed':
      case 'task.cancelled':
        this.settle(msg.taskId, false);
        break;
      case 'task.requeued':
        this.settle(msg.taskId, true);
        break;
      case 'agent.credit':
        this.scheduler.credits[msg.kind] += msg.n;
        break;
      case 'agent.reset':
        this.scheduler.credits[msg.kind] = msg.credits;
        break;
      case 'breaker.changed':
        this.scheduler.setAgentCap(msg.key, msg.state === 'open' ? 0 : msg.state === 'half-open' ? 1 : Infinity);
        break;
      case 'supervisor.draining':
        this.draining = true;
        break;
      default:
        return;
    }
    this.pump();
  }

  /** Dispatches every task that may run now. */
  private pump(): void {
    while (!this.draining) {
      const next = this.scheduler.next();
      if (next === undefined) break;
      this.dispatched.add(next.id);
      const attempt = (this.tasks.get(next.id)?.attempt ?? 0) + 1;
      this.publish({ type: 'task.dispatch', taskId: next.id, attempt, at: this.clock.now() });
    }
    this.scheduleDemand();
  }

  private cancelQueued(id: string, reason: string): void {
    const task = this.tasks.get(id);
    if (task === undefined || !this.scheduler.remove(task)) return;
    this.publish({ type: 'task.cancelled', taskId: id, reason, at: this.clock.now() });
  }

  /** Releases what a finished run held (once: `run.ended` usually comes before the outcome). */
  private settle(id: string, requeue: boolean): void {
    const task = this.tasks.get(id);
    if (task === undefined) return;
    if (this.dispatched.delete(id)) this.scheduler.release(task);
    if (requeue && task.state === 'queued') this.scheduler.enqueue(task, true);
  }

  /** Demand is published at most once per microtask checkpoint, however many messages arrive. */
  private scheduleDemand(): void {
    if (this.demandPending) return;
    this.demandPending = true;
    queueMicrotask(() =>
      this.guard(() => {
        this.demandPending = false;
        this.publish({ type: 'queue.demand', waiting: this.scheduler.waiting() });
      }),
    );
  }

  /** Rebuilds queue and usage from the task table: queued tasks in FIFO order, running ones charged. */
  private rebuild(): void {
    const queued: TaskRecord[] = [...this.tasks.inState('queued')].sort((a, b) => a.seq - b.seq);
    for (const task of queued) this.scheduler.enqueue(task);
    for (const task of this.tasks.inState('running')) {
      this.scheduler.acquire(task);
      this.dispatched.add(task.id);
    }
  }
}

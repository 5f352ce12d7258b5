import type { Logger } from 'pino';
import { Actor } from '../actor.js';
import type { Message, MessageType } from '../messages.js';
import type { TaskView } from '../supervisor/ledger.js';
import type { MetricsState } from './metrics-state.js';

const ACCEPTS: ReadonlySet<MessageType> = new Set<MessageType>([
  'task.submitted',
  'task.started',
  'task.succeeded',
  'task.failed',
  'task.cancelled',
  'task.requeued',
  'pool.status',
  'breaker.changed',
  'actor.restarted',
  'supervisor.recovered',
  'debug.crash',
]);

/** Keeps counters, gauges and latency histograms by watching the message stream. */
export class MetricsActor extends Actor {
  readonly accepts = ACCEPTS;

  constructor(
    logger: Logger,
    private readonly tasks: TaskView,
    private readonly state: MetricsState,
  ) {
    super('metrics', logger);
  }

  protected receive(msg: Message): void {
    const s = this.state;
    switch (msg.type) {
      case 'task.submitted':
        s.counters.submitted += 1;
        return;
      case 'task.started':
        return this.started(msg.taskId, msg.at);
      case 'task.succeeded':
      case 'task.failed':
      case 'task.cancelled':
        return this.finished(msg.type, msg.taskId, msg.at);
      case 'task.requeued': {
        s.counters.requeued += 1;
        const kind = this.tasks.get(msg.taskId)?.kind;
        if (kind !== undefined) s.running[kind] -= 1;
        return;
      }
      case 'pool.status':
        s.pool = { size: msg.size, target: msg.target, threadIds: msg.threadIds };
        return;
      case 'breaker.changed':
        s.breakers.set(msg.key, msg.state);
        return;
      case 'actor.restarted':
        s.restarts[msg.actor] = msg.restarts;
        return;
      case 'supervisor.recovered':
        s.recovery = { requeued: msg.requeued, queued: msg.queued, finished: msg.finished, ms: msg.ms };
        return;
      default:
        return;
    }
  }

  private started(taskId: string, at: number): void {
    this.state.counters.started += 1;
    const task = this.tasks.get(taskId);
    if (task === undefined) return;
    this.state.running[task.kind] += 1;
    this.state.queueWait.recordMs(at - task.submittedAt);
  }

  private finished(type: 'task.succeeded' | 'task.failed' | 'task.cancelled', taskId: string, at: number): void {
    const s = this.state;
    const task = this.tasks.get(taskId);
    const key = type === 'task.succeeded' ? 'succeeded' : type === 'task.failed' ? 'failed' : 'cancelled';
    s.counters[key] += 1;
    if (task?.startedAt === undefined) return; // cancelled while queued: it never ran
    s.running[task.kind] -= 1;
    s.run.recordMs(at - task.startedAt);
    s.endToEnd.recordMs(at - task.submittedAt);
  }
}

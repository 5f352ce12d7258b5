import type { Logger } from 'pino';
import type { AlertsConfig } from '../../core/alert-options.js';
import type { Clock } from '../../core/clock.js';
import { Actor } from '../actor.js';
import { checkAlerts, initialAlertState, type AlertChange } from './alerts.js';
import type { Message, MessageType } from '../../core/messages.js';
import type { TaskView } from '../../core/views.js';
import type { MetricsState } from './metrics-state.js';

const ACCEPTS: ReadonlySet<MessageType> = new Set<MessageType>([
  'task.submitted',
  'task.joined',
  'task.started',
  'task.succeeded',
  'task.failed',
  'task.cancelled',
  'task.requeued',
  'task.exhausted',
  'task.stalled',
  'task.redriven',
  'pool.status',
  'actor.restarted',
  'supervisor.recovered',
  'debug.crash',
]);

/**
 * Keeps counters, gauges and latency histograms by watching the message stream, and checks the
 * threshold alerts on a timer: each change is published (`alert.changed`) and logged.
 */
export class MetricsActor extends Actor {
  readonly accepts = ACCEPTS;
  private timer: unknown;

  constructor(
    logger: Logger,
    private readonly tasks: TaskView,
    private readonly state: MetricsState,
    private readonly alerts: AlertsConfig,
    private readonly clock: Clock,
  ) {
    super('metrics', logger);
  }

  protected override onStart(): void {
    // A restarted actor keeps the rules' memory; a first start begins it now.
    this.state.alerts ??= initialAlertState(this.clock.now());
    this.schedule();
  }

  override async stop(): Promise<void> {
    this.clock.clearTimeout(this.timer);
    await super.stop();
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => this.guard(() => this.checkAlerts()), this.alerts.intervalMs);
  }

  private checkAlerts(): void {
    const now = this.clock.now();
    const last = this.state.alerts ?? initialAlertState(now);
    const { state, changes } = checkAlerts(this.alerts, last, this.state.observeForAlerts(), now);
    this.state.alerts = state;
    for (const change of changes) this.report(change);
    this.schedule();
  }

  /** The recent window exists for the p95 alert only: with the rule off, a task costs one record, not two. */
  private recordEndToEnd(agent: string, ms: number): void {
    this.state.endToEnd.recordMs(ms);
    this.state.durations.record(agent, 'endToEnd', ms);
    if (this.alerts.p95Latency !== false) this.state.recentEndToEnd.recordMs(ms);
  }

  private report(change: AlertChange): void {
    const { message, ...fields } = change;
    if (change.state === 'firing') this.log.warn(fields, `alert: ${message}`);
    else this.log.info(fields, `alert resolved: ${message}`);
    this.publish({ type: 'alert.changed', change });
  }

  /** The figures of the task's agent, if the task is still kept. */
  private agentOf(taskId: string): ReturnType<MetricsState['agent']> | undefined {
    const agent = this.tasks.get(taskId)?.agent;
    return agent === undefined ? undefined : this.state.agent(agent);
  }

  protected receive(msg: Message): void {
    const s = this.state;
    switch (msg.type) {
      case 'task.submitted':
        s.counters.submitted += 1;
        if (msg.task.cacheKey !== undefined) s.counters[msg.task.cachedFrom === undefined ? 'cacheMisses' : 'cacheHits'] += 1;
        return;
      case 'task.joined':
        s.counters.deduplicated += 1;
        return;
      case 'task.started':
        return this.started(msg.taskId, msg.at);
      case 'task.succeeded':
      case 'task.cancelled':
        return this.finished(msg.type, msg.taskId, msg.at);
      case 'task.failed':
        return this.failed(msg.taskId, msg.retryAt !== undefined, msg.error.code, msg.at);
      case 'task.exhausted': {
        s.counters.dead += 1;
        const agent = this.agentOf(msg.taskId);
        if (agent !== undefined) agent.dead += 1;
        return;
      }
      case 'task.stalled':
        s.counters.stalled += 1;
        return;
      case 'task.redriven':
        s.counters.redriven += 1;
        return;
      case 'task.requeued': {
        s.counters.requeued += 1;
        const task = this.tasks.get(msg.taskId);
        if (task !== undefined) {
          s.running[task.kind] -= 1;
          s.agent(task.agent).running -= 1;
        }
        return;
      }
      case 'pool.status':
        s.pool = { size: msg.size, target: msg.target, threadIds: msg.threadIds };
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
    this.state.agent(task.agent).running += 1;
    this.state.queueWait.recordMs(at - task.submittedAt);
    this.state.durations.record(task.agent, 'queueWait', at - task.submittedAt);
  }

  private finished(type: 'task.succeeded' | 'task.cancelled', taskId: string, at: number): void {
    const s = this.state;
    const task = this.tasks.get(taskId);
    const outcome = type === 'task.succeeded' ? 'succeeded' : 'cancelled';
    s.counters[outcome] += 1;
    if (type === 'task.succeeded') s.throughput.record(at);
    if (task === undefined) return;
    const agent = s.agent(task.agent);
    agent[outcome] += 1;
    if (task.startedAt === undefined) return; // cancelled while queued: it never ran
    s.running[task.kind] -= 1;
    agent.running -= 1;
    s.run.recordMs(at - task.startedAt);
    s.durations.record(task.agent, 'run', at - task.startedAt);
    this.recordEndToEnd(task.agent, at - task.submittedAt);
  }

  /** A failed run; the ledger has already moved the task on (delayed, queued or dead). */
  private failed(taskId: string, retried: boolean, code: string | undefined, at: number): void {
    const s = this.state;
    s.counters.failed += 1;
    s.counters[retried ? 'retried' : 'dead'] += 1;
    if (code === 'TROUPE_TASK_TIMEOUT') s.counters.timedOut += 1;
    const task = this.tasks.get(taskId);
    if (task === undefined) return;
    s.running[task.kind] -= 1;
    const agent = s.agent(task.agent);
    agent.failed += 1;
    agent.running -= 1;
    if (!retried) agent.dead += 1;
    const last = task.history?.at(-1);
    if (last !== undefined) s.run.recordMs(last.durationMs);
    if (last !== undefined) s.durations.record(task.agent, 'run', last.durationMs);
    if (retried) return;
    this.recordEndToEnd(task.agent, at - task.submittedAt);
  }
}

import type { Logger } from 'pino';
import { Actor } from '../actor.js';
import type { Message, MessageType } from '../messages.js';
import type { TaskView } from '../supervisor/ledger.js';
import type { Clock } from '../../runtime/clock.js';
import { CLOSED, stepBreaker, type Breaker, type BreakerConfig, type BreakerEvent } from './breaker-logic.js';

const ACCEPTS: ReadonlySet<MessageType> = new Set<MessageType>(['task.succeeded', 'task.failed', 'debug.crash']);

/**
 * One breaker per agent, fed by task outcomes on the stream. It publishes `breaker.changed`; the
 * Queue holds back an open agent's tasks (they stay queued) and lets one trial through half-open.
 */
export class BreakerActor extends Actor {
  readonly accepts = ACCEPTS;
  private readonly breakers = new Map<string, Breaker>();
  private readonly timers = new Map<string, unknown>();

  constructor(
    logger: Logger,
    private readonly tasks: TaskView,
    private readonly config: BreakerConfig | false,
    private readonly clock: Clock,
  ) {
    super('breaker', logger);
  }

  override async stop(): Promise<void> {
    await super.stop();
    for (const timer of this.timers.values()) this.clock.clearTimeout(timer);
  }

  protected receive(msg: Message): void {
    if (this.config === false) return;
    if (msg.type !== 'task.succeeded' && msg.type !== 'task.failed') return;
    const agent = this.tasks.get(msg.taskId)?.agent;
    if (agent !== undefined) this.step(agent, { type: msg.type === 'task.succeeded' ? 'success' : 'failure' });
  }

  private step(key: string, event: BreakerEvent): void {
    if (this.config === false) return;
    const before = this.breakers.get(key) ?? CLOSED;
    const after = stepBreaker(before, event, this.clock.now(), this.config);
    this.breakers.set(key, after);
    if (after.state === before.state) return;
    this.log.info({ key, from: before.state, to: after.state }, 'breaker changed');
    this.publish({ type: 'breaker.changed', key, state: after.state, at: this.clock.now() });
    if (after.state === 'open') {
      const timer = this.clock.setTimeout(() => this.guard(() => this.step(key, { type: 'tick' })), this.config.resetTimeoutMs);
      this.timers.set(key, timer);
    }
  }
}

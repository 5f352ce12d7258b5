import type { Logger } from 'pino';
import { Actor } from '../actor.js';
import type { Message, MessageType } from '../../core/messages.js';
import type { TaskView } from '../../core/views.js';
import type { Clock } from '../../core/clock.js';
import type { BreakerConfig as BreakerOptions } from '../../core/config.js';
import { closedBreaker, fromRecord, halfOpenAt, stepBreaker, toRecord, type Breaker, type BreakerEvent } from './breaker-logic.js';
import { countsAgainstBreaker, outcomeKeys } from './keys.js';

const ACCEPTS: ReadonlySet<MessageType> = new Set<MessageType>(['task.succeeded', 'task.failed', 'breaker.force', 'debug.crash']);

/**
 * One breaker per key (`agent:<name>`, `resource:<name>`), fed by run outcomes on the stream: a
 * task counts against its resources, or its agent when it has none. It publishes
 * `breaker.changed` (journaled); the Queue holds back the tasks of an open key (they stay
 * queued) and lets the trial tasks through half-open. Restarted or recovered, it resumes from the
 * recorded states.
 */
export class BreakerActor extends Actor {
  readonly accepts = ACCEPTS;
  private readonly breakers = new Map<string, Breaker>();
  private readonly timers = new Map<string, unknown>();
  private readonly ignored: ReadonlySet<string>;

  constructor(
    logger: Logger,
    private readonly tasks: TaskView,
    private readonly config: BreakerOptions | false,
    private readonly clock: Clock,
  ) {
    super('breaker', logger);
    this.ignored = new Set(config === false ? [] : config.ignoreErrors);
  }

  protected override onStart(): void {
    for (const [key, record] of this.tasks.breakerRecords()) {
      this.breakers.set(key, fromRecord(record));
      this.scheduleHalfOpen(key);
    }
  }

  override async stop(): Promise<void> {
    await super.stop();
    for (const timer of this.timers.values()) this.clock.clearTimeout(timer);
  }

  protected receive(msg: Message): void {
    if (this.config === false) return;
    if (msg.type === 'breaker.force') return this.step(msg.key, { type: 'force', state: msg.state }, true);
    if (msg.type !== 'task.succeeded' && msg.type !== 'task.failed') return;
    if (msg.type === 'task.failed' && !countsAgainstBreaker(msg.error, this.ignored)) return;
    const task = this.tasks.get(msg.taskId);
    if (task === undefined) return;
    const event: BreakerEvent = { type: msg.type === 'task.succeeded' ? 'success' : 'failure' };
    for (const key of outcomeKeys(task)) this.step(key, event, false);
  }

  private step(key: string, event: BreakerEvent, announce: boolean): void {
    if (this.config === false) return;
    const before = this.breakers.get(key) ?? closedBreaker(this.config);
    const after = stepBreaker(before, event, this.clock.now(), this.config);
    this.breakers.set(key, after);
    if (!announce && after.state === before.state && after.forced === before.forced) {
      // A clock given in the options may fire a timer before now() reaches its time (systemClock
      // does not): a tick that finds the breaker not yet due re-arms it, or it stays open for good.
      if (event.type === 'tick') this.scheduleHalfOpen(key);
      return;
    }
    this.log.info({ key, from: before.state, to: after.state, forced: after.forced }, 'breaker changed');
    this.publish({ type: 'breaker.changed', key, state: after.state, record: toRecord(after), at: this.clock.now() });
    this.scheduleHalfOpen(key);
  }

  /** An open breaker that is not forced turns half-open when its reset timeout is over. */
  private scheduleHalfOpen(key: string): void {
    this.clock.clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    const due = halfOpenAt(this.breakers.get(key)!);
    if (due === null) return;
    const timer = this.clock.setTimeout(() => this.guard(() => this.step(key, { type: 'tick' }, false)), Math.max(0, due - this.clock.now()));
    this.timers.set(key, timer);
  }
}

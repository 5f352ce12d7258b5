import type { Logger } from 'pino';
import { Actor } from '../actor.js';
import type { Message, MessageOf, MessageType } from '../../core/messages.js';
import type { TaskView } from '../../core/views.js';
import type { Clock } from '../../core/clock.js';
import type { BreakerConfig as BreakerOptions } from '../../core/config.js';
import { closedBreaker, fromRecord, halfOpenAt, stepBreaker, toRecord, type Breaker, type BreakerEvent } from './breaker-logic.js';
import { countsAgainstBreaker, gateKeys } from './keys.js';

const ACCEPTS: ReadonlySet<MessageType> = new Set<MessageType>([
  'task.succeeded',
  'task.failed',
  'task.cancelled',
  'task.requeued',
  'task.exhausted',
  'breaker.force',
  'debug.crash',
]);

type Decision = MessageOf<'breaker.changed'>;
type Outcome = MessageOf<'task.succeeded' | 'task.failed' | 'task.cancelled' | 'task.requeued' | 'task.exhausted'>;

const isOutcome = (msg: Message): msg is Outcome =>
  msg.type === 'task.succeeded' || msg.type === 'task.failed' || msg.type === 'task.cancelled' || msg.type === 'task.requeued' || msg.type === 'task.exhausted';

/**
 * The one owner of breaker state: one breaker per key (`agent:<name>`, `resource:<name>`), fed by
 * run outcomes on the stream. An outcome counts against every key that gated its task (its agent
 * and each of its resources). It publishes its decisions as `breaker.changed` (journaled; the
 * ledger's `breakerRecords()` is their recorded form, which metrics and the API read); the Queue
 * only applies them: it holds back the tasks of an open key and lets the trials through half-open.
 *
 * Every outcome of a trial (a task with a half-open gate key), counted or not (an ignored error, a
 * cancel, a requeue), gets a decision naming it in `cause`, after any change it made: the Queue
 * frees the trial's slot only then. Restarted or recovered, it resumes from the recorded states.
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
    if (msg.type === 'breaker.force') return this.announce(this.step(msg.key, { type: 'force', state: msg.state }, true));
    if (!isOutcome(msg)) return;
    // A task cancelled while queued never held a slot: nothing to count or settle.
    if (msg.type === 'task.cancelled' && msg.lease === undefined) return;
    const task = this.tasks.get(msg.taskId);
    if (task === undefined) return;
    const keys = gateKeys(task);
    const halfOpen = keys.find((k) => this.breakers.get(k)?.state === 'half-open');
    const event = this.eventOf(msg);
    const decisions: Decision[] = [];
    if (event !== undefined) {
      for (const key of keys) {
        const decision = this.step(key, event, false);
        if (decision !== undefined) decisions.push(decision);
      }
    }
    if (halfOpen !== undefined) {
      // A trial: the last decision names it, so the Queue frees its slot once all of them arrived.
      if (decisions.length === 0) decisions.push({ ...this.decision(halfOpen), unchanged: true });
      decisions[decisions.length - 1]!.cause = task.id;
    }
    for (const decision of decisions) this.announce(decision);
  }

  /** What an outcome says of the task's keys: a success, a failure, or nothing (it does not count). */
  private eventOf(msg: Message): BreakerEvent | undefined {
    if (msg.type === 'task.succeeded') return { type: 'success' };
    if (msg.type === 'task.failed' && countsAgainstBreaker(msg.error, this.ignored)) return { type: 'failure' };
    return undefined;
  }

  /** Steps one key; returns the decision to publish when its state (or forcing) changed, or when `announce`. */
  private step(key: string, event: BreakerEvent, announce: boolean): Decision | undefined {
    if (this.config === false) return undefined;
    const before = this.breakers.get(key) ?? closedBreaker(this.config);
    const after = stepBreaker(before, event, this.clock.now(), this.config);
    this.breakers.set(key, after);
    if (!announce && after.state === before.state && after.forced === before.forced) {
      // A clock given in the options may fire a timer before now() reaches its time (systemClock
      // does not): a tick that finds the breaker not yet due re-arms it, or it stays open for good.
      if (event.type === 'tick') this.scheduleHalfOpen(key);
      return undefined;
    }
    this.log.info({ key, from: before.state, to: after.state, forced: after.forced }, 'breaker changed');
    this.scheduleHalfOpen(key);
    return this.decision(key);
  }

  private decision(key: string): Decision {
    const breaker = this.breakers.get(key)!;
    return { type: 'breaker.changed', key, state: breaker.state, record: toRecord(breaker), at: this.clock.now() };
  }

  private announce(decision: Decision | undefined): void {
    if (decision !== undefined) this.publish(decision);
  }

  /** An open breaker that is not forced turns half-open when its reset timeout is over. */
  private scheduleHalfOpen(key: string): void {
    this.clock.clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    const due = halfOpenAt(this.breakers.get(key)!);
    if (due === null) return;
    const timer = this.clock.setTimeout(() => this.guard(() => this.announce(this.step(key, { type: 'tick' }, false))), Math.max(0, due - this.clock.now()));
    this.timers.set(key, timer);
  }
}

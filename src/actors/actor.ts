import Denque from 'denque';
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { Logger } from 'pino';
import type { ActorName, Message, MessageType } from '../core/messages.js';

/**
 * Base of every actor: an RxJS inbox, an outbox, and a mailbox that processes one message at a
 * time to completion. A message published while the actor is busy (even by itself) waits its
 * turn, so handlers never re-enter. A handler that throws crashes the actor: it stops taking
 * messages and reports `crashed$`; the Supervisor decides whether to restart it.
 */
export abstract class Actor {
  readonly inbox = new Subject<Message>();
  readonly crashed$ = new Subject<unknown>();
  protected readonly log: Logger;
  private readonly outbox = new Subject<Message>();
  private readonly mailbox = new Denque<Message>();
  private readonly subscription: Subscription;
  private inDelivery = false;
  private dead = false;

  /** The message types this actor handles; the Supervisor routes only these to it. */
  abstract readonly accepts: ReadonlySet<MessageType>;

  constructor(readonly name: ActorName, logger: Logger) {
    this.log = logger.child({ actor: name });
    this.subscription = this.inbox.subscribe((msg) => this.deliver(msg));
  }

  /** Everything this actor publishes. */
  get outbox$(): Observable<Message> {
    return this.outbox.asObservable();
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Called by the Supervisor once the actor is wired: publish initial state here, not in the constructor. */
  start(): void {
    this.guard(() => this.onStart());
  }

  protected onStart(): void {}

  /** Handles one message. Must not await: asynchronous work reports back by publishing messages. */
  protected abstract receive(msg: Message): void;

  /** Releases timers, pools and processes. Called on shutdown and before a restart replaces it. */
  async stop(): Promise<void> {
    this.dead = true;
    this.subscription.unsubscribe();
    this.mailbox.clear();
  }

  protected publish(msg: Message): void {
    if (!this.dead) this.outbox.next(msg);
  }

  /** Runs `fn` as if it were a message handler: a throw crashes the actor instead of escaping. */
  protected guard(fn: () => void): void {
    if (this.dead) return;
    try {
      fn();
    } catch (err) {
      this.crash(err);
    }
  }

  private deliver(msg: Message): void {
    if (this.dead) return;
    this.mailbox.push(msg);
    if (this.inDelivery) return;
    this.inDelivery = true;
    try {
      for (let next = this.mailbox.shift(); next !== undefined && !this.dead; next = this.mailbox.shift()) {
        if (next.type === 'debug.crash' && next.actor === this.name) throw new Error(`fault injected into ${this.name}`);
        this.receive(next);
      }
    } catch (err) {
      this.crash(err);
    } finally {
      this.inDelivery = false;
    }
  }

  private crash(err: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.mailbox.clear();
    this.log.error({ err }, 'actor crashed');
    this.crashed$.next(err);
  }
}

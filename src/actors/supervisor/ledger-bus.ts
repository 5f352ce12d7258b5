import Denque from 'denque';
import { Subject, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import { TRANSITIONS, type Message } from '../messages.js';
import type { Ledger } from './ledger.js';
import { TroupeError } from '../../runtime/errors.js';
import type { Journal } from '../../runtime/journal/journal.js';

interface Ack {
  resolve(): void;
  reject(err: TroupeError): void;
}

/** Backoff of retries while the journal cannot be written (disk full, read-only file). */
const RETRY_MIN_MS = 25;
const RETRY_MAX_MS = 1_000;

/**
 * The path every message takes: pending → ledger → journal → subscribers. Messages published in
 * one event-loop turn are applied to the ledger and their transitions written in one journal
 * transaction (group commit) before anyone sees them, so nothing is acknowledged that a crash
 * could take back. Messages are delivered in one global order; those published during a delivery
 * wait their turn. If the journal refuses a batch, the ledger is rolled back, the batch's
 * submissions are rejected with the journal's error, and the rest is retried with backoff until
 * the journal takes it (accepted work is never dropped).
 */
export class LedgerBus {
  private readonly bus = new Subject<Message>();
  private readonly pending = new Denque<Message>();
  private readonly acks = new Map<Message, Ack>();
  private scheduled = false;
  private delivering = false;
  private blocked: TroupeError | undefined;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ledger: Ledger,
    private readonly journal: Journal | undefined,
    private readonly log: Logger,
  ) {}

  /** Every delivered message, in order. */
  get messages$(): Observable<Message> {
    return this.bus.asObservable();
  }

  /** Why the journal refuses writes right now, if it does. */
  get writeError(): TroupeError | undefined {
    return this.blocked;
  }

  publish(msg: Message): void {
    this.pending.push(msg);
    this.schedule();
  }

  /** Publishes `msg` and resolves once it is committed and delivered; rejects if it was refused. */
  publishCommitted(msg: Message): Promise<void> {
    if (this.blocked !== undefined) return Promise.reject(this.blocked);
    return new Promise((resolve, reject) => {
      this.acks.set(msg, { resolve, reject });
      this.publish(msg);
    });
  }

  /** Commits and delivers everything pending now, synchronously (start-up, shutdown). */
  flushNow(): void {
    this.flush();
  }

  close(): void {
    clearTimeout(this.retryTimer);
    this.flush();
    for (const ack of this.acks.values()) ack.reject(new TroupeError('TROUPE_SHUTTING_DOWN', 'the runtime stopped before this was recorded'));
    this.acks.clear();
    this.bus.complete();
  }

  private schedule(): void {
    if (this.scheduled || this.delivering || this.blocked !== undefined) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every outcome that arrived in this turn of the event loop
    // joins the same transaction, so a loaded runtime does one fsync per batch.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.blocked === undefined && this.pending.length > 0) this.flushBatch();
    } finally {
      this.delivering = false;
    }
  }

  private flushBatch(): void {
    const batch = this.pending.toArray();
    this.pending.clear();
    const accepted: Message[] = [];
    this.ledger.begin();
    for (const msg of batch) {
      if (this.ledger.apply(msg)) accepted.push(msg);
      else this.refused(msg);
    }
    try {
      this.journal?.write(accepted.filter((m) => TRANSITIONS.has(m.type)), (id) => this.ledger.get(id));
      this.ledger.commit();
    } catch (err) {
      this.ledger.rollback();
      this.writeFailed(batch, err as TroupeError);
      return;
    }
    this.retryMs = RETRY_MIN_MS;
    for (const msg of accepted) {
      this.bus.next(msg);
      this.acks.get(msg)?.resolve();
      this.acks.delete(msg);
    }
  }

  /** A refused submission with a known idempotency key is answered by the existing task's id. */
  private refused(msg: Message): void {
    const ack = this.acks.get(msg);
    if (ack === undefined) return;
    this.acks.delete(msg);
    if (msg.type === 'task.submitted' && msg.task.key !== undefined && this.ledger.idForKey(msg.task.key) !== undefined) {
      ack.resolve();
      return;
    }
    ack.reject(new TroupeError('TROUPE_INVALID_TASK', 'the task was refused: its id is already taken'));
  }

  /** Rejects the batch's submissions, keeps everything else in order, and retries with backoff. */
  private writeFailed(batch: readonly Message[], err: TroupeError): void {
    const kept: Message[] = [];
    for (const msg of batch) {
      const ack = this.acks.get(msg);
      if (msg.type === 'task.submitted' && ack !== undefined) {
        this.acks.delete(msg);
        ack.reject(err);
      } else {
        kept.push(msg);
      }
    }
    for (const msg of kept.reverse()) this.pending.unshift(msg);
    if (this.blocked === undefined) this.log.error({ err }, 'journal write failed; holding work until it can be written');
    this.blocked = err;
    this.retryTimer = setTimeout(() => this.retry(), this.retryMs).unref();
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  private retry(): void {
    this.blocked = undefined;
    this.flush();
    if (this.blocked === undefined) this.log.warn('journal writable again; work resumes');
  }
}

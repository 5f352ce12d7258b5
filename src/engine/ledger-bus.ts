import { Subject, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import { TRANSITIONS, type Message, type MessageType } from '../core/messages.js';
import type { TaskRecord } from '../core/task.js';
import type { Ledger } from './ledger.js';
import { TroupeError } from '../core/errors.js';
import { taskAtFault, type Store } from './journal/store.js';
import { withoutUnwritable } from './unwritable.js';
import { Durability } from './durability.js';
import { CommitBuilder } from './commit-builder.js';

interface Ack {
  resolve(): void;
  reject(err: TroupeError): void;
}

/** Messages on a task's timeline: they wait for their commit (and are retried if it fails). */
const TIMELINE: ReadonlySet<MessageType> = new Set<MessageType>([...TRANSITIONS, 'task.log', 'task.heartbeat', 'task.stalled']);

/** Backoff of retries while the store cannot be written (disk full, read-only file). */
const RETRY_MIN_MS = 25;
const RETRY_MAX_MS = 1_000;

/**
 * The one path every message takes, for every store (memory included), in rounds:
 * pending → ledger (the lifecycle table decides) → store commit → subscribers, in order.
 *
 * A round applies what is pending, commits the result as one group and only then delivers it,
 * so the ledger that actors and the API read is always the committed view: nobody outside a
 * round ever sees a change that is not committed, and there is no second copy of any task.
 * What a delivery publishes forms the next round, in the same turn of the event loop.
 *
 * Durability is separate from commit: under 'fsync' one fdatasync covers every commit written
 * while the previous one ran. Acknowledgements — `publishCommitted()`, `submissionDurable()`,
 * `afterDurable()` — wait for it, and so does the launch of a run (the Agent waits for its start);
 * deliveries do not (a process crash cannot lose a committed write, only a power loss can).
 *
 * If the store refuses a commit, the round is rolled back: its submissions are rejected with the
 * store's error, its control messages are delivered, and its other task messages are retried with
 * backoff until the store takes them (accepted work is never dropped).
 */
export class LedgerBus {
  private readonly bus = new Subject<Message>();
  /** Swapped out whole at each round (cheaper than draining a deque that grew under a burst). */
  private pending: Message[] = [];
  private readonly acks = new Map<Message, Ack>();
  private readonly durability = new Durability();
  private syncing = false;
  private closed = false;
  private scheduled = false;
  private flushing = false;
  private blocked: TroupeError | undefined;
  /** A failed sync: what was written may not be durable, so nothing is acknowledged again. */
  private fatal: TroupeError | undefined;
  /** Submissions of the round refused for a key or a cache key another took: answered once the round commits. */
  private answerAfterCommit: Message[] = [];
  private retryMs = RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ledger: Ledger,
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** Every delivered message, in order. */
  get messages$(): Observable<Message> {
    return this.bus.asObservable();
  }

  /** Why the store refuses writes right now, if it does. */
  get writeError(): TroupeError | undefined {
    return this.blocked;
  }

  publish(msg: Message): void {
    this.pending.push(msg);
    this.schedule();
  }

  /** Publishes `msg` and resolves once it is committed, delivered and durable; rejects if it was refused. */
  publishCommitted(msg: Message): Promise<void> {
    if (this.blocked !== undefined) return Promise.reject(this.blocked);
    return new Promise((resolve, reject) => {
      this.acks.set(msg, { resolve, reject });
      this.publish(msg);
    });
  }

  /**
   * Resolves once the submission of task `id` is durable (at once if everything is); rejects if
   * no such task is recorded. A duplicate idempotency key is answered only then, like the first.
   */
  submissionDurable(id: string): Promise<void> {
    if (this.ledger.get(id) === undefined) return Promise.reject(new TroupeError('TROUPE_UNKNOWN_TASK', `task ${id} was not recorded`));
    return new Promise((resolve, reject) => this.durability.afterDurable(resolve, reject));
  }

  /** Runs `fn` once everything committed so far is durable (at once if it is); `fail` if it never will be. */
  afterDurable(fn: () => void, fail?: (err: Error) => void): void {
    this.durability.afterDurable(fn, fail);
  }

  /** Commits, syncs and delivers everything pending now, synchronously (start-up, shutdown). */
  flushNow(): void {
    this.drain();
    if (!this.durability.behind || this.fatal !== undefined) return;
    this.store.syncNow();
    this.durability.reached(this.durability.written);
  }

  /** Deletes pruned tasks from the store (every change to them is committed: rounds end committed). */
  prune(ids: readonly string[]): void {
    if (ids.length === 0) return;
    this.store.prune(ids);
    this.store.compact();
  }

  close(): void {
    clearTimeout(this.retryTimer);
    try {
      this.flushNow();
    } finally {
      this.closed = true;
      clearTimeout(this.retryTimer);
      const stopped = new TroupeError('TROUPE_SHUTTING_DOWN', 'the runtime stopped before this was recorded');
      for (const ack of this.acks.values()) ack.reject(stopped);
      this.acks.clear();
      this.durability.fail(this.fatal ?? this.blocked ?? stopped);
      this.bus.complete();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.blocked !== undefined) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every outcome that arrived in this turn joins the same round.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    this.drain();
    this.sync();
  }

  /** Rounds until nothing is pending: what each delivery publishes is the next round. */
  private drain(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.blocked === undefined && this.pending.length > 0) this.round();
    } finally {
      this.flushing = false;
    }
  }

  /** Applies what is pending (with the transitions it causes), commits it as one group, delivers it. */
  private round(): void {
    const batch = this.pending;
    this.pending = [];
    const group = new CommitBuilder(this.ledger);
    const roots: Message[] = [];
    const accepted: Message[] = [];
    this.answerAfterCommit = [];
    this.ledger.begin();
    for (const msg of batch) if (this.cascade(msg, group, accepted)) roots.push(msg);
    if (!group.empty) {
      try {
        this.store.commit(group.build());
      } catch (err) {
        const error = err instanceof TroupeError ? err : new TroupeError('TROUPE_JOURNAL_IO', String(err), { cause: err });
        if (!this.dropUnwritable(error, batch)) this.roundFailed(error, roots, accepted);
        return;
      }
      this.durability.written += 1;
      this.retryMs = RETRY_MIN_MS;
    }
    this.ledger.commit();
    for (const msg of this.answerAfterCommit) this.answer(msg);
    this.deliver(accepted);
  }

  private answer(msg: Message): void {
    const ack = this.acks.get(msg);
    if (ack === undefined) return;
    this.acks.delete(msg);
    ack.resolve();
  }

  /**
   * Applies `msg`, then the transitions it causes in dependent tasks, and theirs: all in the same
   * group. A worklist, not recursion: chains may be long. False if `msg` itself was refused.
   */
  private cascade(msg: Message, group: CommitBuilder, accepted: Message[]): boolean {
    if (!this.applyOne(msg, group, accepted)) return false;
    const first = this.ledger.consequences(msg);
    if (first.length === 0) return true; // the usual case
    const work = [...first];
    for (let i = 0; i < work.length; i += 1) {
      const next = work[i]!;
      if (this.applyOne(next, group, accepted)) work.push(...this.ledger.consequences(next));
    }
    return true;
  }

  private applyOne(msg: Message, group: CommitBuilder, accepted: Message[]): boolean {
    if (!group.apply(msg)) {
      this.refused(msg);
      return false;
    }
    accepted.push(msg);
    return true;
  }

  /** One fsync at a time: it covers every commit written before it started. */
  private sync(): void {
    if (this.syncing || this.closed || !this.durability.behind) return;
    this.syncing = true;
    const upTo = this.durability.written;
    this.store.sync((err) => {
      this.syncing = false;
      if (this.closed) return; // shutdown synced everything itself, and may have closed the file
      if (err !== null) return this.syncFailed(err);
      this.durability.reached(upTo);
      this.sync();
    });
  }

  private deliver(messages: readonly Message[]): void {
    for (const msg of messages) {
      this.bus.next(msg);
      const ack = this.acks.get(msg);
      if (ack === undefined) continue;
      this.acks.delete(msg);
      this.durability.afterDurable(ack.resolve, (err) => ack.reject(err as TroupeError));
    }
  }

  /**
   * A refused submission with a known idempotency key is answered by the existing task's id; one
   * whose cache key a task in flight holds joins that task (the submitter looks both up).
   */
  private refused(msg: Message): void {
    const ack = this.acks.get(msg);
    if (ack === undefined) return;
    if (msg.type === 'task.submitted' && (this.keyTaken(msg.task) || this.ledger.joinable(msg.task))) {
      // The task that took the key may be in this round: only once it is committed is it the answer.
      this.answerAfterCommit.push(msg);
      return;
    }
    this.acks.delete(msg);
    if (msg.type === 'task.redriven') ack.reject(new TroupeError('TROUPE_TASK_NOT_DEAD', `task ${msg.taskId} is no longer dead`));
    else ack.reject(new TroupeError('TROUPE_INVALID_TASK', 'the task was refused: its id is already taken'));
  }

  /** Its idempotency key, or its key among its parent's children, names a recorded task. */
  private keyTaken(task: TaskRecord): boolean {
    if (task.childKey !== undefined) return this.ledger.idForChildKey(task.parentId!, task.childKey) !== undefined;
    return task.key !== undefined && this.ledger.idForKey(task.key) !== undefined;
  }

  /**
   * The store refused the round: nothing of it happened. Its submissions are rejected; its control
   * messages (credits, dispatches) describe committed state and go now; its other task messages,
   * and the submissions refused for a key taken in it, are retried with backoff (what they caused
   * is derived again then).
   */
  private roundFailed(err: TroupeError, roots: readonly Message[], accepted: readonly Message[]): void {
    this.ledger.rollback();
    const kept: Message[] = [...this.answerAfterCommit];
    for (const msg of roots) {
      if (!TIMELINE.has(msg.type)) continue;
      const ack = this.acks.get(msg);
      if (msg.type === 'task.submitted' && ack !== undefined) {
        this.acks.delete(msg);
        ack.reject(err);
      } else {
        kept.push(msg);
      }
    }
    this.pending = kept.concat(this.pending);
    if (this.blocked === undefined) this.log.error({ err }, 'journal write failed; holding work until it can be written');
    this.blocked = err;
    if (!this.closed) this.retryTimer = setTimeout(() => this.retry(), this.retryMs).unref();
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.deliver(accepted.filter((m) => !TIMELINE.has(m.type)));
  }

  /**
   * The store refused the round for one task: the round is undone and applied again at once
   * without it (that task alone fails or is refused). False when the error is of another kind.
   */
  private dropUnwritable(err: TroupeError, batch: readonly Message[]): boolean {
    const taskId = taskAtFault(err);
    if (taskId === undefined) return false;
    const rewritten = withoutUnwritable(batch, taskId, err, this.ledger.get(taskId));
    if (rewritten === undefined) return false;
    this.ledger.rollback();
    this.log.warn({ err, taskId }, 'a task value cannot be journaled; that task alone fails');
    for (const msg of rewritten.refused) {
      const ack = this.acks.get(msg);
      this.acks.delete(msg);
      ack?.reject(err);
    }
    this.pending = rewritten.retry.concat(this.pending);
    return true;
  }

  private retry(): void {
    if (this.closed || this.fatal !== undefined) return;
    this.blocked = undefined;
    this.flush();
    if (this.blocked === undefined) this.log.warn('journal writable again; work resumes');
  }

  /** Written but not known durable: nothing can be acknowledged, so intake stops for good. */
  private syncFailed(err: TroupeError): void {
    this.log.fatal({ err }, 'journal fsync failed; held work cannot be acknowledged');
    this.fatal = err;
    this.blocked = err;
    clearTimeout(this.retryTimer);
    this.durability.fail(err);
  }
}

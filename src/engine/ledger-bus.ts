import { Subject, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import { TRANSITIONS, type Message, type MessageType } from '../core/messages.js';
import type { Ledger } from './ledger.js';
import { TroupeError } from '../core/errors.js';
import type { BlobField, LogRow, Store, TaskWrite } from './journal/store.js';
import type { BreakerRecord } from '../core/messages.js';
import { copyTask, type TaskRecord } from '../core/task.js';

interface Ack {
  resolve(): void;
  reject(err: TroupeError): void;
}

/** Messages on a task's public timeline: delivered only once durable, in order. */
const DURABLE: ReadonlySet<MessageType> = new Set<MessageType>([...TRANSITIONS, 'task.log', 'task.heartbeat', 'task.stalled']);

/** Backoff of retries while the journal cannot be written (disk full, read-only file). */
const RETRY_MIN_MS = 25;
const RETRY_MAX_MS = 1_000;

function taskIdOf(msg: Message): string | undefined {
  if (msg.type === 'task.submitted') return msg.task.id;
  return 'taskId' in msg ? msg.taskId : undefined;
}

/** A task with changes applied but not yet durable: what it looked like before them. */
interface Unsettled {
  before: TaskRecord | undefined;
  count: number;
  /** For a task submitted in write group `submittedIn` (not durable yet): the group's number. */
  submittedIn?: number;
  /**
   * The task as that group leaves it, taken at its first change in a later group: what becomes
   * visible once the submission is durable while later changes (its start, say) are not yet.
   */
  afterSubmit?: TaskRecord;
}

/** A task's write in the open group: as the group leaves it, with the blobs it changed. */
interface OpenWrite extends TaskWrite {
  blobs: Set<BlobField>;
}

/**
 * The one path every message takes, for every store (memory included): pending → ledger → store
 * → subscribers, in batches of one event-loop turn. The ledger decides each transition (the
 * lifecycle table); the store persists its result.
 *
 * A task's own messages reach subscribers only once durable, in order, while control
 * messages (credits, dispatch, pool reports) go at once, so work never waits for the disk. The
 * transitions of every batch since the last sync are written in one transaction just before the
 * next sync starts (group commit; `Store#sync` fsyncs under 'fsync', yields a turn under
 * 'process', returns at once in memory), so one fsync covers everything published while the previous one ran. Until then a
 * batch's task messages are held back and `visible()` shows those tasks as they were before.
 *
 * If the journal refuses a write, the ledger is rolled back to the last write, the submissions in
 * it are rejected with the journal's error, and the rest is retried with backoff until the
 * journal takes it (accepted work is never dropped).
 */
export class LedgerBus {
  private readonly bus = new Subject<Message>();
  /** Swapped out whole at each batch (cheaper than draining a deque that grew under a burst). */
  private pending: Message[] = [];
  private readonly acks = new Map<Message, Ack>();
  /** Callers waiting for a task's submission to be durable (a duplicate idempotency key), by task id. */
  private readonly submissionWaiters = new Map<string, Ack[]>();
  /** Written batches awaiting their fsync, oldest first, with the write number each needs synced. */
  private held: { messages: Message[]; written: number }[] = [];
  private readonly unsettled = new Map<string, Unsettled>();
  /** Transitions applied but not written yet, and the durable messages of the batches they came in. */
  private group: { fresh: string[]; messages: Message[]; writes: Map<string, OpenWrite>; log: LogRow[]; breakers: Map<string, BreakerRecord> } | undefined;
  private written = 0;
  private syncing = false;
  private closed = false;
  private scheduled = false;
  private delivering = false;
  private blocked: TroupeError | undefined;
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

  /** Why the journal refuses writes right now, if it does. */
  get writeError(): TroupeError | undefined {
    return this.blocked;
  }

  /** The task as the API may show it: without changes that are not durable yet. */
  visible(id: string): TaskRecord | undefined {
    const unsettled = this.unsettled.get(id);
    return unsettled === undefined ? this.ledger.get(id) : unsettled.before;
  }

  /** True while the task has changes that are not durable yet. */
  isSettling(id: string): boolean {
    return this.unsettled.has(id);
  }

  publish(msg: Message): void {
    this.pending.push(msg);
    this.schedule();
  }

  /**
   * Resolves once the submission of task `id` is durable (at once if it already is); rejects if the
   * journal refuses it. A duplicate idempotency key is answered only then, like the first submission.
   */
  submissionDurable(id: string): Promise<void> {
    if (this.visible(id) !== undefined) return Promise.resolve();
    if (this.ledger.get(id) === undefined) return Promise.reject(new TroupeError('TROUPE_UNKNOWN_TASK', `task ${id} was not recorded`));
    return new Promise((resolve, reject) => {
      const list = this.submissionWaiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.submissionWaiters.set(id, list);
    });
  }

  private settleSubmission(id: string, err?: TroupeError): void {
    const list = this.submissionWaiters.get(id);
    if (list === undefined) return;
    this.submissionWaiters.delete(id);
    for (const waiter of list) (err === undefined ? waiter.resolve() : waiter.reject(err));
  }

  /** Publishes `msg` and resolves once it is durable and delivered; rejects if it was refused. */
  publishCommitted(msg: Message): Promise<void> {
    if (this.blocked !== undefined) return Promise.reject(this.blocked);
    return new Promise((resolve, reject) => {
      this.acks.set(msg, { resolve, reject });
      this.publish(msg);
    });
  }

  /** Commits, syncs and delivers everything pending now, synchronously (start-up, shutdown). */
  flushNow(): void {
    this.drain();
    if (!this.writeGroup() || this.held.length === 0) return;
    this.store.syncNow();
    this.release(this.written);
  }

  /**
   * Deletes pruned tasks from the store, after writing the open group (which may still change
   * them), so a delete is never overtaken by an earlier write. Throws what the store throws.
   */
  prune(ids: readonly string[]): void {
    if (ids.length === 0 || !this.writeGroup()) return;
    this.store.prune(ids);
    this.store.compact();
  }

  close(): void {
    clearTimeout(this.retryTimer);
    try {
      this.flushNow();
    } finally {
      this.closed = true;
      const stopped = new TroupeError('TROUPE_SHUTTING_DOWN', 'the runtime stopped before this was recorded');
      for (const ack of this.acks.values()) ack.reject(stopped);
      this.acks.clear();
      for (const id of [...this.submissionWaiters.keys()]) this.settleSubmission(id, stopped);
      this.bus.complete();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.delivering || this.blocked !== undefined) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every outcome that arrived in this turn of the event loop
    // joins the same transaction.
    setImmediate(() => this.flush());
  }

  /**
   * Applies everything pending, including what its delivery publishes, then starts a sync. A
   * submission is admitted to the Queue at once, so its dispatch and start join the same commit
   * (one fsync before the handler runs, not two).
   */
  private flush(): void {
    this.scheduled = false;
    this.drain();
    this.sync();
  }

  private drain(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.blocked === undefined && this.pending.length > 0) this.flushBatch();
    } finally {
      this.delivering = false;
    }
  }

  private flushBatch(): void {
    const batch = this.pending;
    this.pending = [];
    this.flushDeferred(batch);
  }

  /**
   * Applies `msg` with `visit`, then the transitions it causes in dependent tasks, and theirs: all
   * in the same batch, so in the same commit. A worklist, not recursion: chains may be long.
   */
  private cascade(msg: Message, visit: (m: Message) => boolean): void {
    if (!visit(msg)) return;
    const first = this.ledger.consequences(msg);
    if (first.length === 0) return; // the usual case
    const work = [...first];
    for (let i = 0; i < work.length; i += 1) {
      const next = work[i]!;
      if (visit(next)) work.push(...this.ledger.consequences(next));
    }
  }

  /** Applies one message; what it recorded joins the open group (the task's row as it leaves it, a log row). */
  private applyOne(msg: Message, accepted: Message[]): boolean {
    const group = this.group!;
    const id = taskIdOf(msg);
    // The lease the store last had for the task: its first write in the group is fenced by it.
    const fence = id === undefined || group.writes.has(id) ? null : (this.ledger.get(id)?.lease ?? null);
    const rec = this.ledger.record(msg);
    if (rec === undefined) {
      this.refused(msg);
      return false;
    }
    accepted.push(msg);
    if (msg.type === 'task.submitted') accepted.push({ type: 'task.admitted', taskId: msg.task.id });
    if (rec.breaker !== undefined) group.breakers.set(rec.breaker, this.ledger.breakerRecords().get(rec.breaker)!);
    const task = rec.task;
    if (task === undefined) return true;
    let write = group.writes.get(task.id);
    if (write === undefined) group.writes.set(task.id, (write = { task, insert: rec.inserted === true, blobs: new Set(), fence }));
    for (const blob of rec.blobs ?? []) write.blobs.add(blob);
    if (rec.log !== undefined) group.log.push({ taskId: task.id, type: rec.log.type, attempt: rec.attempt ?? task.attempt, at: (msg as { at: number }).at, detail: rec.log.detail });
    return true;
  }

  /**
   * Applies the batch and delivers its control messages now, but writes its transitions only
   * when the next sync is about to start, together with every batch since the last one (one
   * commit per sync). Until then the ledger keeps the means to undo them.
   */
  private flushDeferred(batch: Message[]): void {
    if (this.group === undefined) {
      this.ledger.begin();
      this.group = { fresh: [], messages: [], writes: new Map(), log: [], breakers: new Map() };
    }
    const fresh: string[] = [];
    const accepted: Message[] = [];
    const visit = (msg: Message): boolean => {
      if (DURABLE.has(msg.type)) this.noteBefore(msg, fresh);
      return this.applyOne(msg, accepted);
    };
    for (const msg of batch) this.cascade(msg, visit);
    const durable = accepted.filter((m) => DURABLE.has(m.type));
    this.group.fresh.push(...fresh);
    this.group.messages.push(...durable);
    this.hold(durable, fresh);
    this.deliver(accepted.filter((m) => !DURABLE.has(m.type)));
  }

  /** Writes the open group in one transaction. False if the journal refused it (then it was undone). */
  private writeGroup(): boolean {
    const group = this.group;
    if (group === undefined) return true;
    try {
      this.store.commit({ tasks: [...group.writes.values()], log: group.log, breakers: group.breakers });
      this.ledger.commit();
    } catch (err) {
      this.groupFailed(err as TroupeError);
      return false;
    }
    this.group = undefined;
    this.written += 1;
    this.retryMs = RETRY_MIN_MS;
    return true;
  }

  /** Undoes the unwritten group: its held messages go back to pending (submissions are rejected). */
  private groupFailed(err: TroupeError): void {
    const group = this.group!;
    this.group = undefined;
    // Submissions in the group: admitted to the Queue already, gone from the ledger by the rollback.
    const withdrawn: Message[] = [];
    for (const id of group.fresh) {
      const task = this.unsettled.get(id)?.before === undefined ? this.ledger.get(id) : undefined;
      if (task !== undefined) withdrawn.push({ type: 'task.withdrawn', task: copyTask(task) });
    }
    this.ledger.rollback();
    const next = this.written + 1;
    for (const { messages } of this.held.filter((h) => h.written === next)) this.unhold(messages);
    this.held = this.held.filter((h) => h.written !== next);
    for (const id of group.fresh) this.unsettled.delete(id);
    this.deliver(withdrawn);
    this.writeFailed(group.messages, err);
  }

  /** Remembers how a task looked before its first change that is not durable yet. */
  private noteBefore(msg: Message, fresh: string[]): void {
    const id = taskIdOf(msg);
    if (id === undefined) return;
    const group = this.written + 1;
    const known = this.unsettled.get(id);
    if (known !== undefined) {
      // A submission is admitted before it is durable, so its start may come in a later group.
      if (known.submittedIn !== undefined && known.submittedIn < group && known.afterSubmit === undefined) known.afterSubmit = copyTask(this.ledger.get(id)!);
      return;
    }
    const task = this.ledger.get(id);
    this.unsettled.set(id, task === undefined ? { before: undefined, count: 0, submittedIn: group } : { before: copyTask(task), count: 0 });
    fresh.push(id);
  }

  private hold(messages: Message[], fresh: readonly string[]): void {
    for (const id of new Set(messages.map(taskIdOf))) if (id !== undefined) this.unsettled.get(id)!.count += 1;
    for (const id of fresh) if (this.unsettled.get(id)?.count === 0) this.unsettled.delete(id); // all refused: nothing held
    if (messages.length === 0) return;
    this.held.push({ messages, written: this.written + 1 }); // durable with the next write's fsync
  }

  /** Takes back the counts `hold()` gave the tasks of `messages`. */
  private unhold(messages: readonly Message[]): void {
    for (const id of new Set(messages.map(taskIdOf))) {
      const u = id === undefined ? undefined : this.unsettled.get(id);
      if (u === undefined) continue;
      if (--u.count === 0) this.unsettled.delete(id!);
    }
  }

  /** A durable submission whose task has later changes not durable yet shows as its group left it. */
  private showSubmitted(messages: readonly Message[]): void {
    for (const msg of messages) {
      const u = msg.type === 'task.submitted' ? this.unsettled.get(msg.task.id) : undefined;
      if (u?.afterSubmit === undefined) continue;
      u.before = u.afterSubmit;
      delete u.submittedIn;
      delete u.afterSubmit;
    }
  }

  /** One fsync at a time: it starts by writing every batch since the last one, and covers them all. */
  private sync(): void {
    if (this.syncing || this.blocked !== undefined || !this.writeGroup() || this.held.length === 0) return;
    this.syncing = true;
    const upTo = this.written;
    this.store.sync((err) => {
      this.syncing = false;
      if (this.closed) return; // shutdown synced everything itself, and may have closed the file
      if (err !== null) return this.syncFailed(err);
      this.release(upTo);
      this.sync();
    });
  }

  /** Delivers the held batches that are durable now, then whatever their delivery produced. */
  private release(upTo: number): void {
    const ready = this.held.filter((h) => h.written <= upTo);
    this.held = this.held.filter((h) => h.written > upTo);
    for (const { messages } of ready) this.unhold(messages);
    for (const { messages } of ready) this.showSubmitted(messages);
    if (this.delivering) {
      for (const { messages } of ready) this.deliver(messages);
      return;
    }
    this.delivering = true;
    try {
      for (const { messages } of ready) this.deliver(messages);
    } finally {
      this.delivering = false;
    }
    this.flush();
  }

  private deliver(messages: readonly Message[]): void {
    for (const msg of messages) {
      this.bus.next(msg);
      if (msg.type === 'task.submitted') this.settleSubmission(msg.task.id);
      const ack = this.acks.get(msg);
      if (ack === undefined) continue;
      this.acks.delete(msg);
      ack.resolve();
    }
  }

  /**
   * A refused submission with a known idempotency key is answered by the existing task's id; one
   * whose cache key a task in flight holds joins that task (the submitter looks both up).
   */
  private refused(msg: Message): void {
    const ack = this.acks.get(msg);
    if (ack === undefined) return;
    this.acks.delete(msg);
    if (msg.type === 'task.submitted' && ((msg.task.key !== undefined && this.ledger.idForKey(msg.task.key) !== undefined) || this.ledger.joinable(msg.task))) {
      ack.resolve();
      return;
    }
    if (msg.type === 'task.redriven') ack.reject(new TroupeError('TROUPE_TASK_NOT_DEAD', `task ${msg.taskId} is no longer dead`));
    else ack.reject(new TroupeError('TROUPE_INVALID_TASK', 'the task was refused: its id is already taken'));
  }

  /** Rejects the batch's submissions, keeps everything else in order, and retries with backoff. */
  private writeFailed(batch: readonly Message[], err: TroupeError): void {
    const kept: Message[] = [];
    for (const msg of batch) {
      const ack = this.acks.get(msg);
      if (msg.type === 'task.submitted' && ack !== undefined) {
        this.acks.delete(msg);
        ack.reject(err);
        this.settleSubmission(msg.task.id, err);
      } else {
        kept.push(msg);
      }
    }
    this.pending = kept.concat(this.pending);
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

  /** Written but not known durable: nothing held can be acknowledged, so intake stops for good. */
  private syncFailed(err: TroupeError): void {
    this.log.fatal({ err }, 'journal fsync failed; held work cannot be acknowledged');
    this.blocked = err;
  }
}

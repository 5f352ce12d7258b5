import type { Database as Db, Statement } from 'better-sqlite3';
import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { serialize } from 'node:v8';
import type { Message } from '../../core/messages.js';
import type { BreakerRecord } from '../../actors/breaker/breaker-logic.js';
import { TroupeError } from '../../core/errors.js';
import type { TaskRecord, TaskState } from '../../core/task.js';
import type { Durability } from '../../core/config.js';
import { journalWriteError, openLocked, type JournalHolder } from './open.js';
import { migrate } from './schema.js';
import { StoredTask, SUMMARY_COLUMNS, type SummaryRow } from './stored-task.js';

export { journalWriteError, type JournalHolder };

/** A transition to write, with the task's attempt as it was when the transition was recorded. */
export interface JournalEntry {
  msg: Message;
  attempt: number;
  /** For failures and requeues: the task's retry bookkeeping right after the transition. */
  after?: { failures: number; history: string | null };
  /** For redrives: the state the task went to (`blocked` when it has parents to wait for). */
  state?: TaskState;
}

export type { Durability };


/**
 * Under 'fsync', how often (in syncs) the WAL is checkpointed and restarted from its beginning, so
 * that it stays about this many syncs long and is written over rather than grown.
 */
const CHECKPOINT_EVERY = 256;
/**
 * WAL bytes written with zeros at open under 'fsync'. fdatasync after an overwrite of blocks already
 * on disk needs no metadata update: measured here 100 µs against 190–240 µs after an append.
 */
const WAL_PREWRITE_BYTES = 8 * 1024 * 1024;
/** The prewrite happens only with this many times its size free on the journal's disk. */
const WAL_PREWRITE_FREE_FACTOR = 16;

const pack = (value: unknown): Buffer | null => (value === undefined ? null : serialize(value));


/**
 * The SQLite journal (better-sqlite3, WAL): one row per task with its current state, and one
 * row per transition. Opening it takes an exclusive lock for the life of the runtime (released by
 * the OS if the process dies), checks that the file is a sound Troupe journal and migrates it.
 * All writes of a batch go in one transaction: one fsync per batch, never one per task.
 */
export class Journal {
  readonly incarnation: number;
  /** Transactions committed and transitions written since this journal was opened. */
  readonly stats = { commits: 0, transitions: 0 };
  private readonly statements: ReturnType<Journal['prepare']>;

  private walFd: number | undefined;

  private constructor(
    readonly path: string,
    private readonly db: Db,
    /** True under 'fsync': `sync()` fsyncs the WAL. Under 'process' a written commit is durable enough. */
    private readonly fsyncs: boolean,
  ) {
    this.incarnation = this.nextIncarnation();
    this.statements = this.prepare();
    this.syncNow(); // the migration and incarnation are durable before anything else
  }

  /**
   * Under 'fsync', fsyncs the WAL on libuv's thread pool; under 'process', only yields one turn of
   * the event loop (so that the next group gathers what that turn brings). `done` gets null once
   * everything written so far is as durable as promised.
   */
  sync(done: (err: TroupeError | null) => void): void {
    if (!this.fsyncs) {
      setImmediate(() => done(null));
      return;
    }
    const fd = this.wal();
    if (fd === undefined) return done(null);
    fdatasync(fd, (err) => done(err === null ? null : journalWriteError(this.path, err)));
    if (++this.syncsSinceCheckpoint >= CHECKPOINT_EVERY) this.restartWal();
  }

  /** The same, blocking (start-up and shutdown). */
  syncNow(): void {
    if (!this.fsyncs) return;
    const fd = this.wal();
    if (fd !== undefined) fdatasyncSync(fd);
  }

  private syncsSinceCheckpoint = 0;

  /**
   * Under 'fsync', where SQLite does not checkpoint by itself: folds the WAL into the database and
   * has the next commit start again at the WAL's beginning, over blocks already written.
   */
  private restartWal(): void {
    this.syncsSinceCheckpoint = 0;
    this.checkpoint('RESTART');
  }

  /**
   * Fills the WAL with zeros up to WAL_PREWRITE_BYTES (synced), so that commits overwrite blocks
   * instead of growing the file. SQLite reads frames only while their salts and checksums match,
   * so zeros past the last frame are never taken for one. Only a speed-up, so only where the disk
   * has room to spare; if a write fails anyway the file goes back to its size.
   */
  private prewriteWal(): void {
    const path = `${this.path}-wal`;
    if (!existsSync(path)) return;
    const { bavail, bsize } = statfsSync(path);
    if (bavail * bsize < WAL_PREWRITE_FREE_FACTOR * WAL_PREWRITE_BYTES) return;
    const fd = openSync(path, 'r+');
    const size = fstatSync(fd).size;
    try {
      const chunk = Buffer.alloc(1024 * 1024);
      for (let at = size; at < WAL_PREWRITE_BYTES; at += chunk.length) {
        writeSync(fd, chunk, 0, Math.min(chunk.length, WAL_PREWRITE_BYTES - at), at);
      }
      fdatasyncSync(fd);
    } catch {
      ftruncateSync(fd, size);
    } finally {
      closeSync(fd);
    }
  }

  private wal(): number | undefined {
    if (this.walFd === undefined && existsSync(`${this.path}-wal`)) this.walFd = openSync(`${this.path}-wal`, 'r');
    return this.walFd;
  }

  /** Opens (creating if needed) the journal at `path`. Throws TROUPE_JOURNAL_LOCKED/CORRUPT/READONLY/IO. */
  static open(path: string, durability: Exclude<Durability, 'memory'>): Journal {
    const db = openLocked(path);
    try {
      // 'fsync': commits only write; `sync()` fsyncs the WAL off the main thread, for many batches
      // at once. SQLite must then not checkpoint on its own (it would reuse WAL space whose pages
      // the database file has not synced); `checkpoint()` does it with full syncs.
      db.pragma(`synchronous = ${durability === 'fsync' ? 'OFF' : 'NORMAL'}`);
      if (durability === 'fsync') db.pragma('wal_autocheckpoint = 0');
      migrate(db);
      const journal = new Journal(path, db, durability === 'fsync');
      if (durability === 'fsync') {
        journal.checkpoint('RESTART');
        journal.prewriteWal();
      }
      const holder: JournalHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), incarnation: journal.incarnation };
      writeFileSync(`${path}.holder`, JSON.stringify(holder));
      return journal;
    } catch (err) {
      db.close();
      if (err instanceof TroupeError) throw err;
      throw journalWriteError(path, err);
    }
  }

  /** Every breaker state the journal holds, by key. */
  loadBreakers(): Map<string, BreakerRecord> {
    const rows = this.db.prepare('SELECT key, record FROM breakers').all() as { key: string; record: string }[];
    return new Map(rows.map((r) => [r.key, JSON.parse(r.record) as BreakerRecord]));
  }

  /**
   * Starts recorded at or after `since` (the `started` transitions of tasks still kept), oldest
   * first, with each task's agent and resources: what rate limits counted before a restart. Reads
   * the transition log backwards from its end (CROSS JOIN keeps it the outer loop) and stops at
   * the first older start.
   */
  recentStarts(since: number): { at: number; agent: string; resources: string[] }[] {
    const rows = this.db.prepare(
      `SELECT tr.at, t.agent, t.resources FROM transitions tr CROSS JOIN tasks t ON t.id = tr.task_id
       WHERE tr.type = 'started' ORDER BY tr.id DESC`,
    ).raw();
    const out: { at: number; agent: string; resources: string[] }[] = [];
    for (const [at, agent, resources] of rows.iterate() as Iterable<[number, string, string]>) {
      if (at < since) break;
      out.push({ at, agent, resources: JSON.parse(resources) as string[] });
    }
    return out.reverse();
  }

  /**
   * Every task the journal holds. Inputs, results and checkpoints stay on disk until something
   * reads them: recovery of a large backlog reads only what scheduling needs.
   */
  loadTasks(): TaskRecord[] {
    const rows = this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM tasks`).raw().all() as SummaryRow[];
    const blobs = this.db.prepare('SELECT input, checkpoint, result FROM tasks WHERE id = ?').raw();
    const fetch = (id: string): [Buffer | null, Buffer | null, Buffer | null] =>
      (blobs.get(id) as [Buffer | null, Buffer | null, Buffer | null] | undefined) ?? [null, null, null];
    return rows.map((row) => new StoredTask(row, fetch));
  }

  /** Writes the transitions of one batch in one transaction. Throws (and writes nothing) on failure. */
  write(transitions: readonly JournalEntry[]): void {
    if (transitions.length === 0) return;
    try {
      this.statements.batch(transitions);
    } catch (err) {
      throw journalWriteError(this.path, err);
    }
    this.stats.commits += 1;
    this.stats.transitions += transitions.length;
  }

  /** Deletes finished tasks and their transitions; returns how many went. */
  prune(ids: readonly string[]): number {
    try {
      this.statements.prune(ids);
      return ids.length;
    } catch (err) {
      throw journalWriteError(this.path, err);
    }
  }

  /**
   * Folds the WAL back into the database file (both synced). TRUNCATE (the default) also empties
   * the file; RESTART keeps it, for the next commits to write over.
   */
  checkpoint(mode: 'TRUNCATE' | 'RESTART' = 'TRUNCATE'): void {
    const relaxed = this.fsyncs;
    if (relaxed) this.db.pragma('synchronous = FULL');
    try {
      this.db.pragma(`wal_checkpoint(${mode})`);
    } finally {
      if (relaxed) this.db.pragma('synchronous = OFF');
    }
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.checkpoint();
    } finally {
      if (this.walFd !== undefined) closeSync(this.walFd);
      this.db.close();
    }
  }

  private nextIncarnation(): number {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'incarnation'").get() as { value: string } | undefined;
    const next = Number(row?.value ?? 0) + 1;
    this.db.prepare("INSERT INTO meta (key, value) VALUES ('incarnation', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(next));
    return next;
  }

  private prepare() {
    const db = this.db;
    const insert = db.prepare(
      `INSERT INTO tasks (id, seq, agent, kind, priority, resources, input, key, state, attempt, submitted_at, policy, deps, task_group, cache)
       VALUES (@id, @seq, @agent, @kind, @priority, @resources, @input, @key, @state, @attempt, @submitted_at, @policy, @deps, @task_group, @cache)`,
    );
    const cachedResult = db.prepare('UPDATE tasks SET result = ?, finished_at = ? WHERE id = ?');
    const started = db.prepare("UPDATE tasks SET state = 'running', attempt = ?, starts = starts + 1, lease = ?, started_at = ? WHERE id = ?");
    const checkpoint = db.prepare('UPDATE tasks SET checkpoint = ? WHERE id = ?');
    const finished = db.prepare(
      'UPDATE tasks SET state = ?, finished_at = ?, result = ?, error = COALESCE(?, error), cancel_reason = ?, retry_at = NULL WHERE id = ?',
    );
    const requeued = db.prepare("UPDATE tasks SET state = 'queued', lease = NULL, started_at = NULL, history = ? WHERE id = ?");
    const failed = db.prepare(
      'UPDATE tasks SET state = ?, lease = NULL, started_at = NULL, finished_at = ?, retry_at = ?, error = ?, failures = ?, history = ? WHERE id = ?',
    );
    const due = db.prepare("UPDATE tasks SET state = 'queued', retry_at = NULL WHERE id = ?");
    const unblocked = db.prepare("UPDATE tasks SET state = 'queued' WHERE id = ?");
    const redriven = db.prepare('UPDATE tasks SET state = ?, failures = 0, starts = 0, finished_at = NULL, input = IIF(?, ?, input) WHERE id = ?');
    const breaker = db.prepare('INSERT INTO breakers (key, record) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET record = excluded.record');
    const transition = db.prepare('INSERT INTO transitions (task_id, type, attempt, at, detail) VALUES (?, ?, ?, ?, ?)');
    const deleteTask = db.prepare('DELETE FROM tasks WHERE id = ?');
    const deleteTransitions = db.prepare('DELETE FROM transitions WHERE task_id = ?');
    const statements = { insert, cachedResult, started, checkpoint, finished, requeued, failed, due, unblocked, redriven, breaker, transition };
    return {
      batch: db.transaction((entries: readonly JournalEntry[]) => {
        for (const entry of entries) writeOne(statements, entry);
      }),
      prune: db.transaction((ids: readonly string[]) => {
        for (const id of ids) {
          deleteTransitions.run(id);
          deleteTask.run(id);
        }
      }),
    };
  }
}

type Statements = Record<
  'insert' | 'cachedResult' | 'started' | 'checkpoint' | 'finished' | 'requeued' | 'failed' | 'due' | 'unblocked' | 'redriven' | 'breaker' | 'transition',
  Statement
>;

/** One transition: the task row's new state plus a row in the transition log. */
function writeOne(s: Statements, entry: JournalEntry): void {
  const { msg, attempt } = entry;
  switch (msg.type) {
    case 'task.submitted': {
      const t = msg.task;
      s.insert.run({
        id: t.id, seq: t.seq, agent: t.agent, kind: t.kind, priority: t.priority, resources: JSON.stringify(t.resources),
        input: pack(t.input), key: t.key ?? null, state: t.state, attempt: t.attempt, submitted_at: t.submittedAt,
        policy: t.policy === undefined ? null : JSON.stringify(t.policy), deps: depsOf(t), task_group: t.group ?? null,
        cache: t.cacheKey === undefined ? null : JSON.stringify({ cacheKey: t.cacheKey, cachedFrom: t.cachedFrom }),
      });
      s.transition.run(t.id, 'submitted', 0, msg.at, null);
      if (t.cachedFrom !== undefined) writeCacheHit(s, t, msg.at);
      return;
    }
    case 'task.started':
      s.started.run(msg.attempt, msg.lease, msg.at, msg.taskId);
      s.transition.run(msg.taskId, 'started', msg.attempt, msg.at, msg.lease);
      return;
    case 'task.progress':
      if (!msg.checkpoint) return; // plain progress is live information, not state
      s.checkpoint.run(pack(msg.value), msg.taskId);
      s.transition.run(msg.taskId, 'checkpoint', attempt, msg.at, null);
      return;
    case 'task.succeeded':
    case 'task.cancelled':
    case 'task.exhausted':
      return writeOutcome(s, msg, attempt);
    case 'task.failed':
      return writeFailure(s, entry as JournalEntry & { msg: typeof msg });
    case 'task.requeued':
      s.requeued.run(entry.after?.history ?? null, msg.taskId);
      s.transition.run(msg.taskId, 'requeued', attempt, msg.at, msg.reason);
      return;
    case 'task.due':
      s.due.run(msg.taskId);
      return;
    case 'task.unblocked':
      s.unblocked.run(msg.taskId);
      s.transition.run(msg.taskId, 'unblocked', attempt, msg.at, null);
      return;
    case 'task.redriven':
      s.redriven.run(entry.state ?? 'queued', msg.input === undefined ? 0 : 1, msg.input === undefined ? null : pack(msg.input.value), msg.taskId);
      s.transition.run(msg.taskId, 'redriven', attempt, msg.at, null);
      return;
    case 'breaker.changed':
      s.breaker.run(msg.key, JSON.stringify(msg.record));
      return;
    default:
      return;
  }
}

/** The workflow fields of a task as one JSON value; null for a task without any (most). */
function depsOf(t: TaskRecord): string | null {
  if (t.dependsOn === undefined && t.name === undefined && t.graph === undefined && t.origin === undefined) return null;
  const { dependsOn, onParentFailure, name, graph, rank, origin } = t;
  return JSON.stringify({ dependsOn, onParentFailure, name, graph, rank, origin });
}

/** A cache hit is born succeeded: its result and the task it came from, in the commit of its submission. */
function writeCacheHit(s: Statements, t: TaskRecord, at: number): void {
  s.cachedResult.run(pack(t.result), t.finishedAt ?? at, t.id);
  s.transition.run(t.id, 'cached', 0, at, t.cachedFrom);
}

type OutcomeMessage = Extract<Message, { type: 'task.succeeded' | 'task.cancelled' | 'task.exhausted' }>;

function writeOutcome(s: Statements, msg: OutcomeMessage, attempt: number): void {
  const state = msg.type === 'task.exhausted' ? 'dead' : msg.type.slice('task.'.length);
  const result = msg.type === 'task.succeeded' ? pack(msg.result) : null;
  const error = msg.type === 'task.exhausted' ? JSON.stringify(msg.error) : null;
  const reason = msg.type === 'task.cancelled' ? msg.reason : null;
  s.finished.run(state, msg.at, result, error, reason, msg.taskId);
  s.transition.run(msg.taskId, state, attempt, msg.at, error ?? reason);
}

/** A failed run: the task is delayed, queued again, or dead (as the ledger decided). */
function writeFailure(s: Statements, entry: JournalEntry & { msg: Extract<Message, { type: 'task.failed' }> }): void {
  const { msg, attempt, after } = entry;
  const state = msg.retryAt === undefined ? 'dead' : msg.retryAt > msg.at ? 'delayed' : 'queued';
  const error = JSON.stringify(msg.error);
  const retryAt = state === 'delayed' ? msg.retryAt! : null;
  s.failed.run(state, state === 'dead' ? msg.at : null, retryAt, error, after?.failures ?? 0, after?.history ?? null, msg.taskId);
  s.transition.run(msg.taskId, state === 'dead' ? 'dead' : 'failed', attempt, msg.at, error);
}


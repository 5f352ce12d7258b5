import type { Database as Db } from 'better-sqlite3';
import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import type { BreakerRecord, IntakeRecord } from '../../core/messages.js';
import { TroupeError } from '../../core/errors.js';
import type { TaskRecord } from '../../core/task.js';
import type { Durability } from '../../core/config.js';
import { journalWriteError, openLocked, type JournalHolder } from './open.js';
import { migrate } from './schema.js';
import { StoredTask, SUMMARY_COLUMNS, type SummaryRow } from './stored-task.js';
import type { CommitGroup, LoadedState, RecentStart, Store } from './store.js';
import { inSeqOrder, prepareWrites } from './sqlite-writes.js';

export { journalWriteError, type JournalHolder };


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



/**
 * The SQLite journal (better-sqlite3, WAL): one row per task with its current state, and one
 * row per transition. Opening it takes an exclusive lock for the life of the runtime (released by
 * the OS if the process dies), checks that the file is a sound Troupe journal and migrates it.
 * All writes of a batch go in one transaction: one fsync per batch, never one per task.
 */
export class Journal implements Store {
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
  private loadBreakers(): Map<string, BreakerRecord> {
    const rows = this.db.prepare('SELECT key, record FROM breakers').all() as { key: string; record: string }[];
    return new Map(rows.map((r) => [r.key, JSON.parse(r.record) as BreakerRecord]));
  }

  /** Paused agents, kept in the meta table as `intake:<agent>` (no schema change for a rarely written fact). */
  private loadIntakes(): Map<string, IntakeRecord> {
    const rows = this.db.prepare("SELECT key, value FROM meta WHERE key LIKE 'intake:%'").all() as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key.slice('intake:'.length), JSON.parse(r.value) as IntakeRecord]));
  }

  /**
   * Starts recorded at or after `since` (the `started` transitions of tasks still kept), oldest
   * first, with each task's agent and resources: what rate limits counted before a restart. Reads
   * the transition log backwards from its end (CROSS JOIN keeps it the outer loop) and stops at
   * the first older start.
   */
  recentStarts(since: number): RecentStart[] {
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
   * Every task the journal holds, in submission order, and every breaker. Inputs, results and
   * checkpoints stay on disk until something reads them: recovery of a large backlog reads only
   * what scheduling needs.
   */
  load(): LoadedState {
    const rows = this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM tasks`).raw().all() as SummaryRow[];
    const blobs = this.db.prepare('SELECT input, checkpoint, result FROM tasks WHERE id = ?').raw();
    const fetch = (id: string): [Buffer | null, Buffer | null, Buffer | null] =>
      (blobs.get(id) as [Buffer | null, Buffer | null, Buffer | null] | undefined) ?? [null, null, null];
    const tasks: TaskRecord[] = rows.map((row) => new StoredTask(row, fetch));
    return { tasks: inSeqOrder(tasks), breakers: this.loadBreakers(), intakes: this.loadIntakes() };
  }

  /** Writes a group in one transaction: every row or none. Throws a TroupeError (and writes nothing) on failure. */
  commit(group: CommitGroup): void {
    if (group.tasks.length === 0 && group.log.length === 0 && group.breakers.size === 0 && (group.intakes?.size ?? 0) === 0) return;
    try {
      this.statements.commit(group);
    } catch (err) {
      if (err instanceof TroupeError) throw err;
      throw journalWriteError(this.path, err);
    }
    this.stats.commits += 1;
    this.stats.transitions += group.log.length;
  }

  /** Deletes finished tasks and their transitions. */
  prune(ids: readonly string[]): void {
    try {
      this.statements.prune(ids);
    } catch (err) {
      throw journalWriteError(this.path, err);
    }
  }

  /** After a prune: the WAL keeps its blocks for the next commits to write over. */
  compact(): void {
    this.checkpoint('RESTART');
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
    return prepareWrites(this.db, this.path);
  }
}

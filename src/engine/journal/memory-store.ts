// The memory store: the Store contract kept in this process (journal ':memory:').
import type { BreakerRecord } from '../../core/messages.js';
import { TroupeError } from '../../core/errors.js';
import { copyTask, type TaskRecord } from '../../core/task.js';
import type { BlobField, CommitGroup, LogRow, RecentStart, Store, TaskWrite } from './store.js';
import { inSeqOrder } from './sqlite-writes.js';

const BLOBS: readonly BlobField[] = ['input', 'checkpoint', 'result'];

/** What a memory store keeps; several stores may open one after another (a restart in one process), never at once. */
export class MemoryBackend {
  readonly rows = new Map<string, TaskRecord>();
  readonly keys = new Map<string, string>();
  readonly log: LogRow[] = [];
  readonly breakers = new Map<string, BreakerRecord>();
  incarnation = 0;
  holder: MemoryStore | undefined;
}

/**
 * Rows are copies taken at commit (later changes of the live record are not in them until the
 * next commit); inputs and results are kept by reference, as nothing here outlives the process.
 */
export class MemoryStore implements Store {
  readonly path = ':memory:';
  readonly incarnation: number;
  readonly stats = { commits: 0, transitions: 0 };

  constructor(private readonly backend: MemoryBackend = new MemoryBackend()) {
    if (backend.holder !== undefined) {
      throw new TroupeError('TROUPE_JOURNAL_LOCKED', 'this memory store is held by another runtime', { details: { path: ':memory:' } });
    }
    backend.holder = this;
    this.incarnation = ++backend.incarnation;
  }

  load(): { tasks: TaskRecord[]; breakers: Map<string, BreakerRecord> } {
    const tasks = inSeqOrder([...this.backend.rows.values()].map(rowCopy));
    return { tasks, breakers: new Map([...this.backend.breakers].map(([k, r]) => [k, { ...r }])) };
  }

  recentStarts(since: number): RecentStart[] {
    const out: RecentStart[] = [];
    for (let i = this.backend.log.length - 1; i >= 0; i -= 1) {
      const row = this.backend.log[i]!;
      if (row.type !== 'started') continue;
      if (row.at < since) break;
      const task = this.backend.rows.get(row.taskId);
      if (task !== undefined) out.push({ at: row.at, agent: task.agent, resources: [...task.resources] });
    }
    return out.reverse();
  }

  /** Checks the whole group first, then writes it: all or nothing. */
  commit(group: CommitGroup): void {
    this.assertOpen();
    const claimed = new Map<string, string>();
    const inserted = new Set<string>();
    for (const w of group.tasks) this.check(w, claimed, inserted);
    for (const w of group.tasks) {
      const row = rowCopy(w.task);
      // An update writes only the blobs it names (TaskWrite.blobs); the others stay as the row had them.
      const before = w.insert ? undefined : this.backend.rows.get(row.id);
      if (before !== undefined) for (const field of BLOBS) if (!w.blobs.has(field)) row[field] = before[field];
      this.backend.rows.set(row.id, row);
      if (row.key !== undefined) this.backend.keys.set(row.key, row.id);
    }
    for (const r of group.log) this.backend.log.push({ ...r });
    for (const [key, record] of group.breakers) this.backend.breakers.set(key, { ...record });
    this.stats.commits += 1;
    this.stats.transitions += group.log.length;
  }

  sync(done: (err: TroupeError | null) => void): void {
    done(null);
  }

  syncNow(): void {}

  prune(ids: readonly string[]): void {
    this.assertOpen();
    const gone = new Set(ids);
    for (const id of ids) {
      const row = this.backend.rows.get(id);
      if (row?.key !== undefined && this.backend.keys.get(row.key) === id) this.backend.keys.delete(row.key);
      this.backend.rows.delete(id);
    }
    const kept = this.backend.log.filter((r) => !gone.has(r.taskId));
    this.backend.log.length = 0;
    this.backend.log.push(...kept);
  }

  compact(): void {}

  close(): void {
    if (this.backend.holder === this) this.backend.holder = undefined;
  }

  /** `claimed` and `inserted`: the keys and ids the group's earlier inserts take. */
  private check(w: TaskWrite, claimed: Map<string, string>, inserted: Set<string>): void {
    const row = this.backend.rows.get(w.task.id);
    if (w.insert) {
      const key = w.task.key;
      const holder = key === undefined ? undefined : (this.backend.keys.get(key) ?? claimed.get(key));
      if (row === undefined && !inserted.has(w.task.id) && (holder === undefined || holder === w.task.id)) {
        inserted.add(w.task.id);
        if (key !== undefined) claimed.set(key, w.task.id);
        return;
      }
      throw conflict(w.task.id, 'its id or idempotency key is taken');
    }
    if (row === undefined || (row.lease ?? null) !== w.fence) throw conflict(w.task.id, `it is not held under lease ${w.fence ?? '(none)'} (or is gone)`);
  }

  private assertOpen(): void {
    if (this.backend.holder !== this) throw new TroupeError('TROUPE_JOURNAL_IO', 'this memory store is closed', { details: { path: ':memory:' } });
  }
}

function conflict(id: string, why: string): TroupeError {
  return new TroupeError('TROUPE_STORE_CONFLICT', `memory store: task ${id}: ${why}; nothing of the group was written`, { details: { path: ':memory:', taskId: id } });
}

/** A record's kept fields, blobs included, as a new object. */
function rowCopy(task: TaskRecord): TaskRecord {
  return {
    ...copyTask(task), input: task.input, checkpoint: task.checkpoint, result: task.result,
    ...(task.lease === undefined ? {} : { lease: task.lease }), ...(task.policy === undefined ? {} : { policy: task.policy }),
  };
}

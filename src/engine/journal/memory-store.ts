// The memory store: the Store contract kept in this process (journal ':memory:').
import type { BreakerRecord, IntakeRecord } from '../../core/messages.js';
import { TroupeError } from '../../core/errors.js';
import type { TaskRecord } from '../../core/task.js';
import type { BlobField, CommitGroup, LogRow, LoadedState, RecentStart, Store, TaskWrite } from './store.js';
import { inSeqOrder } from './sqlite-writes.js';

const BLOBS: readonly BlobField[] = ['input', 'checkpoint', 'result'];

/** What a memory store keeps; several stores may open one after another (a restart in one process), never at once. */
export class MemoryBackend {
  readonly rows = new Map<string, Row>();
  /** Without rows (a private backend): each task's lease, all a fence check needs, and the key of a task with one. */
  readonly leases = new Map<string, string | null>();
  readonly keyOf = new Map<string, string>();
  readonly keys = new Map<string, string>();
  log: LogRow[] = [];
  readonly breakers = new Map<string, BreakerRecord>();
  readonly intakes = new Map<string, IntakeRecord>();
  incarnation = 0;
  holder: MemoryStore | undefined;
}

/**
 * Rows are taken at commit (later changes of the live record are not in them until the next
 * commit): the changeable fields are copied, the fields fixed at submission and the blobs' values
 * are kept by reference, as nothing here outlives the process.
 */
export class MemoryStore implements Store {
  readonly path = ':memory:';
  readonly incarnation: number;
  readonly stats = { commits: 0, transitions: 0 };
  /**
   * False for a store made without a backend (a runtime's ':memory:' journal): no later store can
   * open its backend, so nothing it commits is ever loaded back, and it keeps only what fencing and
   * idempotency keys need (a lease per task), not rows (measured: about 150 bytes per queued task).
   */
  private readonly retains: boolean;
  private readonly backend: MemoryBackend;

  constructor(backend?: MemoryBackend) {
    this.retains = backend !== undefined;
    backend ??= new MemoryBackend();
    this.backend = backend;
    if (backend.holder !== undefined) {
      throw new TroupeError('TROUPE_JOURNAL_LOCKED', 'this memory store is held by another runtime', { details: { path: ':memory:' } });
    }
    backend.holder = this;
    this.incarnation = ++backend.incarnation;
  }

  load(): LoadedState {
    const tasks = inSeqOrder([...this.backend.rows.values()].map((row) => row.toRecord()));
    const intakes = new Map([...this.backend.intakes].map(([k, r]) => [k, { ...r }]));
    return { tasks, breakers: new Map([...this.backend.breakers].map(([k, r]) => [k, { ...r }])), intakes };
  }

  recentStarts(since: number): RecentStart[] {
    const out: RecentStart[] = [];
    for (let i = this.backend.log.length - 1; i >= 0; i -= 1) {
      const row = this.backend.log[i]!;
      if (row.type !== 'started') continue;
      if (row.at < since) break;
      const task = this.backend.rows.get(row.taskId);
      if (task !== undefined) out.push({ at: row.at, agent: task.fixed.agent, resources: [...task.fixed.resources] });
    }
    return out.reverse();
  }

  /** Checks the whole group first, then writes it: all or nothing. */
  commit(group: CommitGroup): void {
    this.assertOpen();
    const { rows, keys } = this.backend;
    const taken = { keys: undefined as Map<string, string> | undefined, ids: undefined as Set<string> | undefined };
    const before: (Row | undefined)[] = [];
    for (const w of group.tasks) before.push(this.check(w, taken));
    if (!this.retains) {
      for (const w of group.tasks) {
        this.backend.leases.set(w.task.id, w.task.lease ?? null);
        if (w.task.key !== undefined) {
          keys.set(w.task.key, w.task.id);
          this.backend.keyOf.set(w.task.id, w.task.key);
        }
      }
      this.stats.commits += 1;
      this.stats.transitions += group.log.length;
      return;
    }
    for (let i = 0; i < group.tasks.length; i += 1) {
      const w = group.tasks[i]!;
      const row = new Row(w.task);
      // An update writes only the blobs it names (TaskWrite.blobs); the others stay as the row had them.
      const old = before[i];
      if (old !== undefined && w.blobs.size < BLOBS.length) for (const field of BLOBS) if (!w.blobs.has(field)) row[field] = old[field];
      rows.set(row.id, row);
      if (row.key !== undefined) keys.set(row.key, row.id);
    }
    // Of the log, only starts are ever read back (recentStarts); the rest is counted.
    for (const r of group.log) if (r.type === 'started') this.backend.log.push({ ...r });
    for (const [key, record] of group.breakers) this.backend.breakers.set(key, { ...record });
    if (group.intakes !== undefined) for (const [agent, record] of group.intakes) {
      if (record === null) this.backend.intakes.delete(agent);
      else this.backend.intakes.set(agent, { ...record });
    }
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
      const key = this.backend.rows.get(id)?.key ?? this.backend.keyOf.get(id);
      if (key !== undefined && this.backend.keys.get(key) === id) this.backend.keys.delete(key);
      this.backend.rows.delete(id);
      this.backend.leases.delete(id);
      this.backend.keyOf.delete(id);
    }
    if (!this.retains) return;
    // A new array, not push(...kept): spreading a long log as arguments overflows the stack.
    this.backend.log = this.backend.log.filter((r) => !gone.has(r.taskId));
  }

  compact(): void {}

  close(): void {
    if (this.backend.holder === this) this.backend.holder = undefined;
  }

  /** Returns the row an update replaces. `taken`: the keys and ids the group's earlier inserts take. */
  private check(w: TaskWrite, taken: { keys: Map<string, string> | undefined; ids: Set<string> | undefined }): Row | undefined {
    const row = this.backend.rows.get(w.task.id);
    const known = this.retains ? row !== undefined : this.backend.leases.has(w.task.id);
    if (w.insert) {
      const key = w.task.key;
      const holder = key === undefined ? undefined : (this.backend.keys.get(key) ?? taken.keys?.get(key));
      if (!known && taken.ids?.has(w.task.id) !== true && (holder === undefined || holder === w.task.id)) {
        (taken.ids ??= new Set()).add(w.task.id);
        if (key !== undefined) (taken.keys ??= new Map()).set(key, w.task.id);
        return undefined;
      }
      throw conflict(w.task.id, 'its id or idempotency key is taken');
    }
    const lease = this.retains ? (row === undefined ? undefined : (row.lease ?? null)) : this.backend.leases.get(w.task.id);
    if (lease === undefined || lease !== w.fence) throw conflict(w.task.id, `it is not held under lease ${w.fence ?? '(none)'} (or is gone)`);
    return row;
  }

  private assertOpen(): void {
    if (this.backend.holder !== this) throw new TroupeError('TROUPE_JOURNAL_IO', 'this memory store is closed', { details: { path: ':memory:' } });
  }
}

function conflict(id: string, why: string): TroupeError {
  return new TroupeError('TROUPE_STORE_CONFLICT', `memory store: task ${id}: ${why}; nothing of the group was written`, { details: { path: ':memory:', taskId: id } });
}

/** The fields a record has from its submission on (`input` aside: a redrive may replace it). */
const FIXED = ['id', 'seq', 'agent', 'kind', 'priority', 'resources', 'key', 'policy', 'dependsOn', 'onParentFailure', 'name', 'graph', 'rank', 'origin', 'parentId', 'childKey', 'maxChildren', 'childPolicy', 'managers', 'distribution', 'hashKey', 'group', 'cacheKey', 'cachedFrom', 'submittedAt'] as const;

/** One stored task, of one shape whatever the record's: the changeable fields copied at commit. */
class Row {
  readonly state: TaskRecord['state'];
  readonly attempt: number;
  readonly failures: number | undefined;
  readonly starts: number | undefined;
  readonly retryAt: number | undefined;
  readonly history: TaskRecord['history'];
  readonly lease: string | undefined;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly progress: unknown;
  readonly error: TaskRecord['error'];
  readonly cancelReason: string | undefined;
  readonly managerId: string | undefined;
  input: unknown;
  checkpoint: unknown;
  result: unknown;

  /** `fixed`: the record itself, read only for the fields it never changes. */
  constructor(readonly fixed: TaskRecord) {
    const t = fixed;
    this.state = t.state;
    this.attempt = t.attempt;
    this.failures = t.failures;
    this.starts = t.starts;
    this.retryAt = t.retryAt;
    this.history = t.history; // replaced, never changed, by a transition
    this.lease = t.lease;
    this.startedAt = t.startedAt;
    this.finishedAt = t.finishedAt;
    this.progress = t.progress;
    this.error = t.error;
    this.cancelReason = t.cancelReason;
    this.managerId = t.managerId;
    this.input = t.input;
    this.checkpoint = t.checkpoint;
    this.result = t.result;
  }

  get id(): string {
    return this.fixed.id;
  }

  get key(): string | undefined {
    return this.fixed.key;
  }

  toRecord(): TaskRecord {
    const out: Record<string, unknown> = {};
    for (const k of FIXED) if (this.fixed[k] !== undefined) out[k] = this.fixed[k];
    for (const k of ['state', 'attempt', 'failures', 'starts', 'retryAt', 'history', 'lease', 'startedAt', 'finishedAt', 'progress', 'error', 'cancelReason', 'managerId', 'input', 'checkpoint', 'result'] as const) {
      if (this[k] !== undefined) out[k] = this[k];
    }
    return out as unknown as TaskRecord;
  }
}

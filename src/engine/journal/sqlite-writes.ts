// The SQLite store's writes: a task's row as a transition group leaves it, plus the append-only log.
import type { Database as Db } from 'better-sqlite3';
import { serialize } from 'node:v8';
import { TroupeError } from '../../core/errors.js';
import type { TaskRecord } from '../../core/task.js';
import { MAX_VALUE_BYTES } from '../../core/limits.js';
import { unwritableValue, type BlobField, type CommitGroup, type TaskWrite } from './store.js';

/** A task's blob for its row; a value that cannot be written fails that task's write alone (see unwritableValue). */
function pack(t: TaskRecord, field: BlobField): Buffer | null {
  const value = t[field];
  if (value === undefined) return null;
  let blob: Buffer;
  try {
    blob = serialize(value);
  } catch (cause) {
    throw unwritableValue(t.id, field, 'must be serializable (v8.serialize) to be journaled', value, cause);
  }
  if (blob.length > MAX_VALUE_BYTES) {
    throw unwritableValue(t.id, field, `must be at most ${MAX_VALUE_BYTES} bytes serialized`, `${blob.length} bytes`);
  }
  return blob;
}
const json = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

/** `Store#commit` and `Store#prune` over prepared statements, each one transaction. */
export interface Writes {
  commit(group: CommitGroup): void;
  prune(ids: readonly string[]): void;
}

/** Runs a statement; a value SQLite cannot bind (a TypeError, not an I/O error) is that task's fault alone. */
function bound<T>(taskId: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw unwritableValue(taskId, 'row', 'must fit the journal row', err.message, err);
    throw err;
  }
}

/** A taken id (primary key) or idempotency key (unique index). */
const TAKEN = new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);

export function prepareWrites(db: Db, path: string): Writes {
  const insert = db.prepare(
    `INSERT INTO tasks (id, seq, agent, kind, priority, resources, key, policy, deps, task_group, cache, submitted_at,
       state, attempt, lease, started_at, finished_at, error, cancel_reason, failures, starts, retry_at, history, manager, input, checkpoint, result)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // Blobs are rewritten only when the group changed them (the flags), never read back.
  const update = db.prepare(
    `UPDATE tasks SET state = ?, attempt = ?, lease = ?, started_at = ?, finished_at = ?, error = ?, cancel_reason = ?,
       failures = ?, starts = ?, retry_at = ?, history = ?, manager = ?,
       input = IIF(?, ?, input), checkpoint = IIF(?, ?, checkpoint), result = IIF(?, ?, result)
     WHERE id = ? AND lease IS ?`,
  );
  const log = db.prepare('INSERT INTO transitions (task_id, type, attempt, at, detail) VALUES (?, ?, ?, ?, ?)');
  const breaker = db.prepare('INSERT INTO breakers (key, record) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET record = excluded.record');
  const pause = db.prepare("INSERT INTO meta (key, value) VALUES ('intake:' || ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  const resume = db.prepare("DELETE FROM meta WHERE key = 'intake:' || ?");
  const deleteTask = db.prepare('DELETE FROM tasks WHERE id = ?');
  const deleteLog = db.prepare('DELETE FROM transitions WHERE task_id = ?');

  // A taken id or idempotency key is a conflict of the group, not an I/O failure.
  const runInsert = (...values: unknown[]): void => {
    try {
      bound(String(values[0]), () => insert.run(...values));
    } catch (err) {
      const code = String((err as { code?: string }).code);
      // Any other rule the row breaks is this task's fault, not the group's: it alone is refused.
      if (code === 'SQLITE_TOOBIG' || (code.startsWith('SQLITE_CONSTRAINT') && !TAKEN.has(code))) {
        throw unwritableValue(String(values[0]), 'row', 'must fit the journal row', (err as Error).message, err);
      }
      if (!TAKEN.has(code)) throw err;
      throw new TroupeError('TROUPE_STORE_CONFLICT', `journal ${path}: task ${String(values[0])}'s id or idempotency key is taken; nothing of the group was written`, {
        cause: err,
        details: { path, taskId: values[0] },
      });
    }
  };
  const writeTask = (w: TaskWrite): void => {
    const t = w.task;
    const mutable = [
      t.state, t.attempt, t.lease ?? null, t.startedAt ?? null, t.finishedAt ?? null, json(t.error), t.cancelReason ?? null,
      t.failures ?? 0, t.starts ?? 0, t.retryAt ?? null, json(t.history), t.managerId ?? null,
    ];
    if (w.insert) {
      runInsert(
        t.id, t.seq, t.agent, t.kind, t.priority, JSON.stringify(t.resources), t.key ?? null, json(t.policy), depsOf(t), t.group ?? null, cacheOf(t),
        t.submittedAt, ...mutable, pack(t, 'input'), pack(t, 'checkpoint'), pack(t, 'result'),
      );
      return;
    }
    const b = w.blobs;
    const blob = (field: 'input' | 'checkpoint' | 'result'): [number, Buffer | null] => (b.has(field) ? [1, pack(t, field)] : [0, null]);
    const changes = bound(t.id, () => update.run(...mutable, ...blob('input'), ...blob('checkpoint'), ...blob('result'), t.id, w.fence).changes);
    if (changes !== 1) {
      throw new TroupeError('TROUPE_STORE_CONFLICT', `journal ${path}: task ${t.id} is not held under lease ${w.fence ?? '(none)'} (or is gone); nothing of the group was written`, {
        details: { path, taskId: t.id, lease: w.fence },
      });
    }
  };

  return {
    commit: db.transaction((group: CommitGroup) => {
      for (const w of group.tasks) writeTask(w);
      for (const r of group.log) log.run(r.taskId, r.type, r.attempt, r.at, r.detail);
      for (const [key, record] of group.breakers) breaker.run(key, JSON.stringify(record));
      if (group.intakes !== undefined) for (const [agent, record] of group.intakes) {
        if (record === null) resume.run(agent);
        else pause.run(agent, JSON.stringify(record));
      }
    }),
    prune: db.transaction((ids: readonly string[]) => {
      for (const id of ids) {
        deleteLog.run(id);
        deleteTask.run(id);
      }
    }),
  };
}

/** The workflow fields of a task as one JSON value; null for a task without any (most). */
function depsOf(t: TaskRecord): string | null {
  const { dependsOn, onParentFailure, name, graph, rank, origin, parentId, childKey, maxChildren, childPolicy, managers, distribution, hashKey } = t;
  if (dependsOn === undefined && name === undefined && graph === undefined && origin === undefined && parentId === undefined && maxChildren === undefined && childPolicy === undefined && managers === undefined) return null;
  return JSON.stringify({ dependsOn, onParentFailure, name, graph, rank, origin, parentId, childKey, maxChildren, childPolicy, managers, distribution, hashKey });
}

function cacheOf(t: TaskRecord): string | null {
  return t.cacheKey === undefined ? null : JSON.stringify({ cacheKey: t.cacheKey, cachedFrom: t.cachedFrom });
}

/** Tasks in submission order: rows usually come back in it already, so this is one pass. */
export function inSeqOrder<T extends { seq: number }>(tasks: T[]): T[] {
  for (let i = 1; i < tasks.length; i += 1) if (tasks[i - 1]!.seq > tasks[i]!.seq) return tasks.sort((a, b) => a.seq - b.seq);
  return tasks;
}

import type { Database } from 'better-sqlite3';

/** Marks a Troupe journal (`PRAGMA application_id`): "TRPE". Anything else with tables is foreign. */
export const APPLICATION_ID = 0x54525045;

/**
 * Forward migrations: `MIGRATIONS[n]` takes `user_version` n to n + 1, in one transaction. Never
 * edit a released step; add one. The current schema version is `MIGRATIONS.length`.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL,
    agent         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    priority      TEXT NOT NULL,
    resources     TEXT NOT NULL,
    input         BLOB,
    key           TEXT UNIQUE,
    state         TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    lease         TEXT,
    submitted_at  REAL NOT NULL,
    started_at    REAL,
    finished_at   REAL,
    checkpoint    BLOB,
    result        BLOB,
    error         TEXT,
    cancel_reason TEXT
  );
  -- Recovery reads every task in submission order. Indexes only immutable columns: an index on
  -- state would be rewritten at every transition, in the hot path of every commit.
  CREATE INDEX tasks_by_seq ON tasks (seq);
  CREATE TABLE transitions (
    id      INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    type    TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at      REAL NOT NULL,
    detail  TEXT
  );
  CREATE INDEX transitions_by_task ON transitions (task_id);
  `,
  // Resilience: per-task policy overrides, retry bookkeeping, attempt history, breaker states.
  `
  ALTER TABLE tasks ADD COLUMN policy TEXT;
  ALTER TABLE tasks ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE tasks ADD COLUMN starts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE tasks ADD COLUMN retry_at REAL;
  ALTER TABLE tasks ADD COLUMN history TEXT;
  UPDATE tasks SET state = 'dead' WHERE state = 'failed';
  CREATE TABLE breakers (key TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;
  `,
  // Workflows: a task's parents, failure policy, graph name and rank, as JSON (NULL for most tasks).
  `
  ALTER TABLE tasks ADD COLUMN deps TEXT;
  `,
  // Fairness: a task's group (NULL for tasks without one).
  `
  ALTER TABLE tasks ADD COLUMN task_group TEXT;
  `,
  // Result cache: a task's cache key and, for a cache hit, the task it reused, as JSON (NULL for most tasks).
  `
  ALTER TABLE tasks ADD COLUMN cache TEXT;
  `,
  // Distribution: the manager a distributed task is bound to now (NULL for most tasks).
  `
  ALTER TABLE tasks ADD COLUMN manager TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations `db` lacks. Returns the version it found. */
export function migrate(db: Database): number {
  const found = db.pragma('user_version', { simple: true }) as number;
  for (let version = found; version < SCHEMA_VERSION; version += 1) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
      if (version === 0) db.pragma(`application_id = ${APPLICATION_ID}`);
    })();
  }
  return found;
}

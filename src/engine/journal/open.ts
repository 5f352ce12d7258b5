// Opening a journal file: the exclusive lock, soundness checks, and SQLite errors mapped to the runtime's.
import Database, { type Database as Db } from 'better-sqlite3';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TroupeError } from '../../core/errors.js';
import { APPLICATION_ID, SCHEMA_VERSION } from './schema.js';

/** Who holds a journal file, as written beside it (`<file>.holder`) for the error a second opener gets. */
export interface JournalHolder {
  pid: number;
  host: string;
  since: string;
  incarnation: number;
}

/** Maps a SQLite failure on write to the runtime's error; the original stays in `cause`. */
export function journalWriteError(path: string, err: unknown): TroupeError {
  const code = String((err as { code?: string }).code ?? '');
  const reason = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_FULL') return new TroupeError('TROUPE_JOURNAL_FULL', `journal ${path} is full: ${reason}`, { cause: err, details: { path } });
  if (code.startsWith('SQLITE_READONLY')) {
    return new TroupeError('TROUPE_JOURNAL_READONLY', `journal ${path} is read-only: ${reason}`, { cause: err, details: { path } });
  }
  return new TroupeError('TROUPE_JOURNAL_IO', `journal ${path} could not be written: ${reason}`, { cause: err, details: { path } });
}

function corrupt(path: string, why: string, cause?: unknown): TroupeError {
  return new TroupeError('TROUPE_JOURNAL_CORRUPT', `journal ${path} ${why}; it was left untouched`, { cause, details: { path } });
}

function readHolder(path: string): JournalHolder | undefined {
  try {
    return JSON.parse(readFileSync(`${path}.holder`, 'utf8')) as JournalHolder;
  } catch {
    return undefined;
  }
}

/** A read-only file or file system is named as such (SQLite would only say "disk I/O error"). */
function checkWritable(path: string): void {
  const target = existsSync(path) ? path : dirname(path);
  try {
    accessSync(target, constants.W_OK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') return; // left for SQLite to report
    throw new TroupeError('TROUPE_JOURNAL_READONLY', `journal ${path} is read-only (${code} on ${target})`, { cause, details: { path } });
  }
}

/** The version of the SQLite library the journal runs on (better-sqlite3's own build). */
export function sqliteVersion(): string {
  const db = new Database(':memory:');
  try {
    return (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}

/** Opens the file and takes its exclusive lock at once, so that a second runtime fails fast. */
export function openLocked(path: string): Db {
  checkWritable(path);
  let db: Db;
  try {
    db = new Database(path, { timeout: 0 });
  } catch (err) {
    throw journalWriteError(path, err);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // Only reads until the file is known to be ours: a foreign database must not even change mode.
    checkSound(path, db);
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN IMMEDIATE; COMMIT'); // takes the lock now, not at the first write
    return db;
  } catch (err) {
    db.close();
    if (err instanceof TroupeError) throw err;
    const code = String((err as { code?: string }).code ?? '');
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      const h = readHolder(path);
      const who = h ? `process ${h.pid} on ${h.host} (incarnation ${h.incarnation}, since ${h.since})` : 'another process';
      throw new TroupeError('TROUPE_JOURNAL_LOCKED', `journal ${path} is in use by ${who}`, { cause: err, details: { path, holder: h } });
    }
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw corrupt(path, 'is not a SQLite database', err);
    throw journalWriteError(path, err);
  }
}

/** Refuses a foreign database, one written by a newer Troupe, or one that fails its integrity check. */
function checkSound(path: string, db: Db): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
  if (appId !== APPLICATION_ID && (appId !== 0 || tables > 0)) throw corrupt(path, 'is not a Troupe journal (foreign database)');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) throw corrupt(path, `has schema version ${version}, newer than this Troupe's ${SCHEMA_VERSION}`);
  const check = db.pragma('quick_check', { simple: true }) as string;
  if (check !== 'ok') throw corrupt(path, `fails its integrity check (${check})`);
}

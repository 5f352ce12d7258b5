import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Terminals } from './terminals.js';

/** 'tty': a line of a command run in a pseudo-terminal (stdout and stderr in one), its escapes kept. */
export type LogStream = 'stdout' | 'stderr' | 'log' | 'tty';

/** One kept line of a task's output. `truncated` marks the line that says the cap was reached. */
export interface LogLine {
  attempt: number;
  stream: LogStream;
  at: number;
  line: string;
  truncated?: true;
}

/** A line as it comes live, with its index in its attempt (to join a read of the file without doubles). */
export interface LiveLine {
  taskId: string;
  index: number;
  line: LogLine;
}

/** Bytes kept free under the cap for the line that marks it reached. */
const MARKER_ROOM = 256;

interface AttemptLog {
  count: number;
  out?: WriteStream;
  /** Lines handed to `out` whose write has not completed yet (a reader finds them in no file). */
  unflushed: LogLine[];
  /** Lines whose write has completed. */
  flushed: number;
  /** Text of lines not handed to `out` yet: written once per turn of the event loop, not once per line. */
  batch: string;
  batched: number;
  /** The lines themselves, with no directory (journal ':memory:'). */
  lines?: LogLine[];
  open: boolean;
}

interface TaskLog {
  bytes: number;
  truncated: boolean;
  attempts: Map<number, AttemptLog>;
}

/**
 * The kept output of tasks, per task and attempt: JSON lines in `<dir>/<taskId>.<attempt>.jsonl`
 * through one write stream per running attempt (off the journal, which is the hot path), or in
 * memory when there is no directory. At most `maxBytesPerTask` bytes of lines per task over all
 * its attempts: past it one line marked `truncated` says so and the rest is dropped (the head is kept).
 */
export class TaskLogs {
  private readonly tasks = new Map<string, TaskLog>();
  /** Attempts with batched lines, written at the next turn (`flush`). */
  private readonly dirty = new Set<AttemptLog>();
  private flushSoon: NodeJS.Immediate | undefined;
  private readonly listeners = new Set<(event: LiveLine | { taskId: string; ended: number }) => void>();
  /** The live terminals of running `tty` tasks: their output as it comes, not kept. */
  readonly terminals = new Terminals();

  constructor(
    /** Where the files go; undefined keeps lines in memory. */
    private readonly dir: string | undefined,
    private readonly maxBytesPerTask: number,
    private readonly log: Logger,
  ) {
    if (dir === undefined) return;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      // Output is not worth failing the start for: each attempt's file then fails to open, and says so.
      log.warn({ err, dir }, 'cannot create the directory of task output');
    }
  }

  /** Keeps one line of a running attempt (opening its file at its first line). */
  append(taskId: string, attempt: number, stream: LogStream, line: string, at: number): void {
    let task = this.tasks.get(taskId);
    if (task === undefined) this.tasks.set(taskId, (task = { bytes: 0, truncated: false, attempts: new Map() }));
    const a = task.truncated ? undefined : this.attemptOf(taskId, task, attempt);
    if (a === undefined) return;
    const entry: LogLine = { attempt, stream, at, line };
    let text = JSON.stringify(entry);
    // Room is left for the marker line, so that the file with it stays within the cap.
    if (task.bytes + Buffer.byteLength(text) + 1 + MARKER_ROOM > this.maxBytesPerTask) {
      task.truncated = true;
      entry.stream = 'log';
      entry.line = `[troupe] output past ${this.maxBytesPerTask} bytes (logs.maxBytesPerTask): the rest is dropped`;
      entry.truncated = true;
      text = JSON.stringify(entry);
    }
    task.bytes += Buffer.byteLength(text) + 1;
    if (a.lines !== undefined) a.lines.push(entry);
    else if (a.out !== undefined) {
      a.unflushed.push(entry);
      a.batch += text + '\n';
      if (a.batched++ === 0) this.dirty.add(a);
      this.flushSoon ??= setImmediate(() => this.flush());
    }
    const index = a.count++;
    for (const fn of this.listeners) fn({ taskId, index, line: entry });
  }

  /** The task's run is over: its attempt's file is closed (lines that still come for it are dropped). */
  end(taskId: string): void {
    const task = this.tasks.get(taskId);
    if (task === undefined) return;
    for (const [attempt, a] of task.attempts) {
      if (!a.open) continue;
      a.open = false;
      this.writeBatch(a);
      a.out?.end();
      a.out = undefined;
      for (const fn of this.listeners) fn({ taskId, ended: attempt });
    }
  }

  /** Whether an attempt of the task is being written now. */
  running(taskId: string, attempt: number): boolean {
    return this.tasks.get(taskId)?.attempts.get(attempt)?.open === true;
  }

  /** The attempts with kept output, in order (those of earlier starts of the runtime too). */
  attempts(taskId: string): number[] {
    const known = new Set(this.tasks.get(taskId)?.attempts.keys() ?? []);
    if (this.dir !== undefined) {
      const prefix = `${encodeURIComponent(taskId)}.`;
      for (const name of this.listDir()) {
        if (!name.startsWith(prefix) || !name.endsWith('.jsonl')) continue;
        const n = Number(name.slice(prefix.length, -'.jsonl'.length));
        if (Number.isInteger(n)) known.add(n);
      }
    }
    return [...known].sort((a, b) => a - b);
  }

  /** The lines of one attempt kept so far (whole lines only: one being written is left for `subscribe`). */
  read(taskId: string, attempt: number): LogLine[] {
    const mem = this.tasks.get(taskId)?.attempts.get(attempt)?.lines;
    if (mem !== undefined || this.dir === undefined) return [...(mem ?? [])];
    let text: string;
    try {
      text = readFileSync(this.file(taskId, attempt), 'utf8');
    } catch {
      text = '';
    }
    const parts = text.split('\n');
    parts.pop(); // '' after the last newline, or a line not whole yet
    const lines = parts.map((p) => JSON.parse(p) as LogLine);
    // Lines on their way to the file: those past what it holds already.
    const a = this.tasks.get(taskId)?.attempts.get(attempt);
    if (a !== undefined) lines.push(...a.unflushed.slice(Math.max(0, lines.length - a.flushed)));
    return lines;
  }

  /** Calls `fn` with every line appended and every attempt ended, until the returned function is called. */
  subscribe(fn: (event: LiveLine | { taskId: string; ended: number }) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Drops the output of pruned tasks (memory and files). */
  prune(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const gone = new Set(ids);
    for (const id of ids) {
      const task = this.tasks.get(id);
      for (const a of task?.attempts.values() ?? []) {
        a.out?.destroy();
        this.dirty.delete(a);
      }
      this.tasks.delete(id);
    }
    this.removeFiles((id) => gone.has(id));
  }

  /** At start: drops the files of tasks the journal no longer has (pruned while the files were not). */
  sweep(known: (taskId: string) => boolean): void {
    this.removeFiles((id) => !known(id));
  }

  private removeFiles(doomed: (taskId: string) => boolean): void {
    if (this.dir === undefined) return;
    for (const name of this.listDir()) {
      if (!name.endsWith('.jsonl')) continue;
      const stem = name.slice(0, name.lastIndexOf('.', name.length - '.jsonl'.length - 1));
      let id: string;
      try {
        id = decodeURIComponent(stem);
      } catch {
        continue;
      }
      if (doomed(id)) rmSync(join(this.dir, name), { force: true });
    }
  }

  /** Closes every open file (at shutdown). */
  close(): void {
    this.flush();
    for (const task of this.tasks.values()) for (const a of task.attempts.values()) a.out?.end();
  }

  /** The attempt's log, opened at its first line; undefined once its run has ended. */
  private attemptOf(taskId: string, task: TaskLog, attempt: number): AttemptLog | undefined {
    let a = task.attempts.get(attempt);
    if (a !== undefined) return a.open ? a : undefined;
    task.attempts.set(attempt, (a = { count: 0, open: true, unflushed: [], flushed: 0, batch: '', batched: 0 }));
    if (this.dir === undefined) a.lines = [];
    else {
      a.out = createWriteStream(this.file(taskId, attempt), { flags: 'a' });
      a.out.on('error', (err) => this.log.warn({ err, taskId, attempt }, 'writing task output failed'));
    }
    return a;
  }

  private flush(): void {
    if (this.flushSoon !== undefined) clearImmediate(this.flushSoon);
    this.flushSoon = undefined;
    for (const a of this.dirty) this.writeBatch(a);
    this.dirty.clear();
  }

  /** Hands the attempt's batched lines to its stream; once written, readers find them in the file. */
  private writeBatch(a: AttemptLog): void {
    const n = a.batched;
    if (n === 0 || a.out === undefined) return;
    const text = a.batch;
    a.batch = '';
    a.batched = 0;
    this.dirty.delete(a);
    a.out.write(text, () => {
      a.unflushed.splice(0, n);
      a.flushed += n;
    });
  }

  private file(taskId: string, attempt: number): string {
    return join(this.dir!, `${encodeURIComponent(taskId)}.${attempt}.jsonl`);
  }

  private listDir(): string[] {
    try {
      return readdirSync(this.dir!);
    } catch {
      return [];
    }
  }
}

/**
 * Progress bars for long CLI operations (waiting on many tasks, draining the daemon), drawn with
 * cli-progress on a terminal only: on a pipe, a file or CI every call is a no-op, so scripts never
 * see escape codes.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** False for the no-op bar (the stream is not a terminal). */
  readonly active: boolean;
  /** Sets how many are done; `extra` is shown after the count (e.g. "2 succeeded, 1 failed"). */
  update(done: number, extra?: string): void;
  /** Draws the last state and ends the line. Safe to call more than once. */
  stop(): void;
}

/** What a bar writes to: a stream that may be a terminal. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** The bar that draws nothing. */
export const NO_PROGRESS: Progress = { active: false, update: () => {}, stop: () => {} };

/** Whole seconds as "42s" or "3m05s"; "-" while cli-progress has no estimate (a string: "NULL", "INF"). */
function eta(seconds: unknown): string {
  if (typeof seconds !== 'number') return '-';
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/**
 * Starts a bar of `total` steps on `stream` (a no-op object unless `stream.isTTY`). It redraws at
 * most 10 times a second, and keeps the terminal's settings (cursor, line wrapping) as they are,
 * so a process that exits mid-bar leaves the terminal usable.
 */
export function startProgress(total: number, stream: ProgressStream, label = 'progress'): Progress {
  if (stream.isTTY !== true) return NO_PROGRESS;
  const bar = new cliProgress.SingleBar({
    stream,
    format: `${label} [{bar}] {value}/{total}{extra} | ETA {eta}`,
    formatValue: (v, options, type) => (type === 'eta' ? eta(v) : cliProgress.Format.ValueFormat(v, options, type)),
    barsize: 30,
    hideCursor: null,
    // true trims the line to the terminal's width instead of switching wrapping off meanwhile.
    linewrap: true,
  });
  bar.start(total, 0, { extra: '' });
  // A first sample turns the initial "0" estimate into "no estimate yet".
  bar.update(0);
  let stopped = false;
  return {
    active: true,
    update: (done, extra) => {
      if (!stopped) bar.update(done, { extra: extra === undefined || extra === '' ? '' : ` | ${extra}` });
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/**
 * A bar of the tasks running when a drain began, polling `running()` every `intervalMs` until
 * stop(). Done only grows (a task that starts meanwhile does not move it back). No bar (a no-op)
 * when nothing runs or the stream is not a terminal.
 */
export function drainProgress(running: () => number, stream: ProgressStream, intervalMs = 100): Progress {
  // The runtime may be gone by the last poll: a failed read keeps the last count.
  const read = (): number | undefined => {
    try {
      return running();
    } catch {
      return undefined;
    }
  };
  const total = stream.isTTY === true ? (read() ?? 0) : 0;
  if (total === 0) return NO_PROGRESS;
  const bar = startProgress(total, stream, 'draining');
  let done = 0;
  const poll = (): void => {
    done = Math.max(done, total - (read() ?? total - done));
    bar.update(done, `${total - done} still running`);
  };
  // Unreferenced: the bar alone never keeps the process alive.
  const timer = setInterval(poll, intervalMs).unref();
  return {
    active: true,
    update: (n, extra) => bar.update(n, extra),
    stop: () => {
      clearInterval(timer);
      poll();
      bar.stop();
    },
  };
}

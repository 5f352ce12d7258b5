// `Supervisor.logs()`: a task's kept output lines, read back and, with `follow`, live until it ends.
import { z } from 'zod';
import type { SupervisorActor } from '../engine/supervisor-actor.js';
import type { LiveLine, LogLine } from '../actors/agent/task-logs.js';
import { plainLine } from '../actors/agent/terminals.js';
import { TERMINAL_STATES } from '../core/task.js';
import { unknownTask } from '../engine/outcomes.js';
import { parseWith } from './validate.js';

export type { LogLine, LogStream } from '../actors/agent/task-logs.js';

export interface LogsOptions {
  /** Only this attempt's lines (1 is the first run). Default: every attempt's, in order. */
  attempt?: number;
  /** Keep yielding lines as they come until the task ends (succeeded, dead or cancelled). */
  follow?: boolean;
  /** Stops following: the iteration ends at its next wait. */
  signal?: AbortSignal;
  /** Lines of stream 'tty' as the terminal got them, escapes kept. Default: as plain text. */
  raw?: boolean;
}

export const logsOptionsSchema = z.strictObject({
  attempt: z.int().min(1).optional(),
  follow: z.boolean().optional(),
  signal: z.instanceof(AbortSignal).optional(),
  raw: z.boolean().optional(),
});

/** How often a follower looks whether its task has ended while no line comes. */
const CHECK_END_MS = 100;

/** Validates at the call (not at the first `next()`), so that a bad argument throws where it was passed. */
export function taskLogs(root: SupervisorActor, id: unknown, raw: LogsOptions = {}): AsyncIterable<LogLine> {
  const options = parseWith(logsOptionsSchema, raw, 'TROUPE_INVALID_OPTIONS', 'options');
  if (typeof id !== 'string' || root.ledger.get(id) === undefined) throw unknownTask(id);
  return options.raw === true ? lines(root, id, options) : plain(lines(root, id, options));
}

/** Terminal lines as plain text: escapes removed, a line redrawn with carriage returns as last drawn. */
async function* plain(source: AsyncIterable<LogLine>): AsyncGenerator<LogLine> {
  for await (const line of source) yield line.stream === 'tty' ? { ...line, line: plainLine(line.line) } : line;
}

async function* lines(root: SupervisorActor, id: string, options: LogsOptions): AsyncGenerator<LogLine> {
  const logs = root.logs;
  const wanted = (attempt: number): boolean => options.attempt === undefined || attempt === options.attempt;
  if (options.follow !== true) {
    for (const a of logs.attempts(id)) if (wanted(a)) yield* logs.read(id, a);
    return;
  }
  const pending: LiveLine[] = [];
  let wake: (() => void) | undefined;
  // Subscribed before reading: a line appended meanwhile is in `pending` (its index tells a double).
  const unsubscribe = logs.subscribe((event) => {
    if (event.taskId !== id) return;
    if ('index' in event && wanted(event.line.attempt)) pending.push(event);
    wake?.();
  });
  const seen = new Map<number, number>();
  try {
    for (const a of logs.attempts(id)) {
      if (!wanted(a)) continue;
      const read = logs.read(id, a);
      seen.set(a, read.length);
      yield* read;
    }
    for (;;) {
      while (pending.length > 0) {
        const { index, line } = pending.shift()!;
        if (index < (seen.get(line.attempt) ?? 0)) continue;
        seen.set(line.attempt, index + 1);
        yield line;
      }
      if (options.signal?.aborted === true || ended(root, id, options.attempt)) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => wake?.(), CHECK_END_MS);
        wake = () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', wake!);
          wake = undefined;
          resolve();
        };
        options.signal?.addEventListener('abort', wake);
      });
    }
  } finally {
    unsubscribe();
  }
}

/** The task ended (or was pruned), or the one attempt followed is over and a later one began. */
function ended(root: SupervisorActor, id: string, attempt: number | undefined): boolean {
  const task = root.ledger.get(id);
  if (task === undefined || TERMINAL_STATES.has(task.state)) return true;
  // Shut down: nothing will run any more here (a kept task resumes at the next start).
  if (root.isStopping && root.ledger.count('running') === 0) return true;
  return attempt !== undefined && task.attempt > attempt && !root.logs.running(id, attempt);
}

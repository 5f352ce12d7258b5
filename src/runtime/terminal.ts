// `Supervisor.terminal()`: the live pseudo-terminal of a running `tty` command task.
import { z } from 'zod';
import type { SupervisorActor } from '../engine/supervisor-actor.js';
import { REPLAY_CHARS, type LiveTerminal, type TerminalExit } from '../actors/agent/terminals.js';
import { fieldError, TroupeError } from '../core/errors.js';
import { unknownTask } from '../engine/outcomes.js';
import { parseWith } from './validate.js';

export type { TerminalExit } from '../actors/agent/terminals.js';

/** The most one `write()` takes: keystrokes and pasted text, not files. */
export const MAX_TERMINAL_WRITE = 64 * 1024;

/** The terminal of a running task, as `Supervisor.terminal()` gives it. */
export interface TaskTerminal {
  readonly taskId: string;
  /** The attempt whose process this terminal is. */
  readonly attempt: number;
  readonly pid: number;
  /** Its size now (`resize()` changes it). */
  readonly cols: number;
  readonly rows: number;
  /**
   * What the process writes to its terminal, escapes and all: first the last 1 MiB or so of what
   * it wrote before (from a line start; enough to draw the screen), then each chunk as it comes,
   * until the process exits or `signal` aborts. A reader that falls more than that far behind
   * gets the same replay again in place of what it missed.
   */
  output(options?: { signal?: AbortSignal }): AsyncIterable<string>;
  /** Types `data` into the terminal (the process reads it from its stdin, as from a keyboard). */
  write(data: string): void;
  /** Sets the terminal's size (the process gets SIGWINCH). */
  resize(cols: number, rows: number): void;
  /** Resolves once the process has exited: `{ exitCode, signal }`. */
  exited(): Promise<TerminalExit>;
}

const sizeSchema = z.strictObject({ cols: z.int().min(1).max(1000), rows: z.int().min(1).max(1000) });
const outputSchema = z.strictObject({ signal: z.instanceof(AbortSignal).optional() });

function noTerminal(id: string, why: string): TroupeError {
  return new TroupeError('TROUPE_NO_TERMINAL', `task ${JSON.stringify(id)} has no terminal: ${why}`, { details: { taskId: id } });
}

/**
 * The terminal of task `id`. Throws TROUPE_UNKNOWN_TASK for an unknown id and TROUPE_NO_TERMINAL
 * for a task with none now: not running, or its agent has no `tty`.
 */
export function taskTerminal(root: SupervisorActor, id: unknown): TaskTerminal {
  const task = typeof id === 'string' ? root.ledger.get(id) : undefined;
  if (task === undefined) throw unknownTask(id);
  const live = root.logs.terminals.get(task.id);
  if (live === undefined) {
    const config = root.options.agents.get(task.agent);
    const why = config?.kind !== 'command' || !config.tty ? `its agent ${JSON.stringify(task.agent)} does not run in a terminal (tty)` : `it is ${task.state}, not running in one`;
    throw noTerminal(task.id, why);
  }
  return wrap(live);
}

function wrap(live: LiveTerminal): TaskTerminal {
  const open = (): void => {
    if (live.ended !== undefined) throw noTerminal(live.taskId, 'its process has exited');
  };
  return {
    taskId: live.taskId,
    attempt: live.attempt,
    pid: live.pid,
    get cols() {
      return live.cols;
    },
    get rows() {
      return live.rows;
    },
    output(options = {}) {
      const { signal } = parseWith(outputSchema, options, 'TROUPE_INVALID_OPTIONS', 'options');
      return chunks(live, signal);
    },
    write(data) {
      if (typeof data !== 'string' || data.length > MAX_TERMINAL_WRITE) {
        throw fieldError('TROUPE_INVALID_OPTIONS', 'data', `must be a string of at most ${MAX_TERMINAL_WRITE} characters`, data);
      }
      open();
      live.write(data);
    },
    resize(cols, rows) {
      parseWith(sizeSchema, { cols, rows }, 'TROUPE_INVALID_OPTIONS', 'size');
      open();
      live.resize(cols, rows);
    },
    exited: () => live.exited(),
  };
}

async function* chunks(live: LiveTerminal, signal: AbortSignal | undefined): AsyncGenerator<string> {
  let pending: string[] = [];
  let size = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  const stop = live.read((chunk) => {
    if (chunk === null) ended = true;
    else if (size + chunk.length > REPLAY_CHARS) {
      // Too far behind: start again from the screen as it is, rather than hold ever more.
      pending = [live.replay()];
      size = pending[0]!.length;
    } else {
      pending.push(chunk);
      size += chunk.length;
    }
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (pending.length > 0) {
        const text = pending.join('');
        pending = [];
        size = 0;
        if (text !== '') yield text;
        continue;
      }
      if (ended || signal?.aborted === true) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    stop();
    signal?.removeEventListener('abort', onAbort);
  }
}

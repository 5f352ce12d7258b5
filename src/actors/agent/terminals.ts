// The live terminals of running `tty` command tasks (pty-runner.ts): what `Supervisor.terminal()` reaches.
import { stripVTControlCharacters } from 'node:util';

/** How a terminal's process ended: an exit code, or the signal that killed it. */
export interface TerminalExit {
  exitCode: number | null;
  signal: string | null;
}

/** What the runner lets readers do to its pseudo-terminal. */
export interface PtyControl {
  write(data: string): void;
  resize(cols: number, rows: number): void;
}

/** Output kept for a reader that comes late (`troupe attach`): the last this many characters, from a line start. */
export const REPLAY_CHARS = 1024 * 1024;

/** A reader gets chunks of output, then `null` once the process has exited. */
export type TerminalReader = (chunk: string | null) => void;

/**
 * The terminal of one running task: the tail of its output (replayed to each new reader so that
 * it can draw the screen), its readers, and input and resizing passed on to the pseudo-terminal.
 */
export class LiveTerminal {
  private tail = '';
  private readonly readers = new Set<TerminalReader>();
  private exit: TerminalExit | undefined;
  private readonly exitWaiters: ((exit: TerminalExit) => void)[] = [];

  constructor(
    readonly taskId: string,
    readonly attempt: number,
    readonly pid: number,
    public cols: number,
    public rows: number,
    private readonly control: PtyControl,
  ) {}

  /** The process wrote `chunk` to the terminal. */
  data(chunk: string): void {
    this.tail += chunk;
    // Trimmed now and then, not at each chunk: the copy is paid once per REPLAY_CHARS of output.
    if (this.tail.length > 2 * REPLAY_CHARS) this.tail = this.replay();
    for (const read of this.readers) read(chunk);
  }

  /** The process exited: readers get their end, input is refused from now on. */
  end(exit: TerminalExit): void {
    if (this.exit !== undefined) return;
    this.exit = exit;
    for (const read of this.readers) read(null);
    this.readers.clear();
    for (const waiter of this.exitWaiters.splice(0)) waiter(exit);
  }

  /** How the process ended, once it has. */
  get ended(): TerminalExit | undefined {
    return this.exit;
  }

  /** Resolves once the process has exited. */
  exited(): Promise<TerminalExit> {
    return this.exit !== undefined ? Promise.resolve(this.exit) : new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /** The last REPLAY_CHARS characters of output (from the first line start in them, when there is one). */
  replay(): string {
    if (this.tail.length <= REPLAY_CHARS) return this.tail;
    const from = this.tail.length - REPLAY_CHARS;
    const line = this.tail.indexOf('\n', from);
    return this.tail.slice(line === -1 ? from : line + 1);
  }

  /** `read` gets the replay at once, then every chunk, then `null`; until the returned function is called. */
  read(read: TerminalReader): () => void {
    read(this.replay());
    if (this.exit !== undefined) {
      read(null);
      return () => undefined;
    }
    this.readers.add(read);
    return () => this.readers.delete(read);
  }

  write(data: string): void {
    if (this.exit === undefined) this.control.write(data);
  }

  resize(cols: number, rows: number): void {
    if (this.exit !== undefined) return;
    this.control.resize(cols, rows);
    this.cols = cols;
    this.rows = rows;
  }
}

/** The terminals of running tasks, by task id (a task runs one attempt at a time). */
export class Terminals {
  private readonly byTask = new Map<string, LiveTerminal>();

  /** Registers a run's terminal; it is dropped once its process has exited. */
  add(terminal: LiveTerminal): void {
    this.byTask.set(terminal.taskId, terminal);
    void terminal.exited().then(() => {
      if (this.byTask.get(terminal.taskId) === terminal) this.byTask.delete(terminal.taskId);
    });
  }

  get(taskId: string): LiveTerminal | undefined {
    return this.byTask.get(taskId);
  }
}

/** What a `tty` run reports besides the usual hooks: its terminal, and each line of its output. */
export interface TerminalHooks {
  terminal?(terminal: LiveTerminal): void;
  /** A line of terminal output as written (escapes kept) and as plain text. */
  ttyLine?(raw: string, plain: string): void;
}

/**
 * A terminal line as plain text: escape sequences removed, and of a line redrawn with carriage
 * returns (a progress bar) only what was drawn last, as the screen shows it.
 */
export function plainLine(raw: string): string {
  const text = stripVTControlCharacters(raw);
  const cr = text.replace(/\r+$/, '').lastIndexOf('\r');
  return (cr === -1 ? text : text.slice(cr + 1)).replace(/\r+$/, '');
}

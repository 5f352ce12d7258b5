// A command agent's run in a pseudo-terminal (`tty: true`), through node-pty (see README "Command agents").
import { accessSync, constants as fsConstants, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { IPty } from 'node-pty';
import { DEFAULTS, type CommandAgentConfig } from '../../core/config.js';
import { TroupeError } from '../../core/errors.js';
import { MAX_LOG_LINE } from '../../core/limits.js';
import {
  commandEnv, exitError, MAX_STDERR_LINE, protocolLine, spawnError, substituteArgs, TailBuffer,
  type CommandTask, type FailureHint, type RunningCommand,
} from './command-runner.js';
import type { TaskHooks } from './module-runner.js';
import { signalGroup, stopGroup } from './process-group.js';
import { LiveTerminal, plainLine, type TerminalExit, type TerminalHooks } from './terminals.js';

type PtyModule = typeof import('node-pty');

let loading: Promise<PtyModule> | undefined;

/**
 * node-pty, loaded the first time a `tty` agent runs: a runtime without one never loads its native
 * addon (nor fails for the lack of it). CommonJS: its functions are named exports or the default's.
 */
function loadPty(): Promise<PtyModule> {
  loading ??= import('node-pty').then((m) => (typeof m.spawn === 'function' ? m : (m as unknown as { default: PtyModule }).default));
  return loading;
}

/** The terminal size of a `tty` agent: its own, or DEFAULTS.commandAgent.ttySize. */
export function ttySize(config: CommandAgentConfig): { cols: number; rows: number } {
  const own = typeof config.tty === 'object' ? config.tty : {};
  return { cols: own.cols ?? DEFAULTS.commandAgent.ttySize.cols, rows: own.rows ?? DEFAULTS.commandAgent.ttySize.rows };
}

function unavailable(config: CommandAgentConfig, cause: unknown): TroupeError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TroupeError('TROUPE_COMMAND_SPAWN_FAILED', `${config.command}: could not start in a terminal: the pseudo-terminal library (node-pty) does not load here (${reason})`, { cause });
}

/**
 * The checks spawn() makes before a fork, made here: in a pseudo-terminal a missing executable or
 * working directory shows only as exit code 1 of the forked child, not as a failure to start.
 */
function checkSpawnable(config: CommandAgentConfig, env: NodeJS.ProcessEnv, cwd: string): void {
  try {
    if (!statSync(cwd).isDirectory()) throw new Error(`cwd ${cwd} is not a directory`);
  } catch (cause) {
    throw spawnError(config, (cause as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(`no directory ${cwd}`) : cause);
  }
  const candidates = config.command.includes('/') ? [resolve(cwd, config.command)] : (env.PATH ?? '').split(':').map((dir) => resolve(cwd, dir, config.command));
  const runnable = candidates.some((file) => {
    try {
      accessSync(file, fsConstants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
  if (!runnable) throw spawnError(config, new Error(`spawn ${config.command} ENOENT`));
}

function signalName(signal: number): string {
  return Object.entries(osConstants.signals).find(([, n]) => n === signal)?.[0] ?? String(signal);
}

/**
 * The result of a run from the plain text of its terminal (escapes and protocol lines left out):
 * the text itself, or JSON, parsed whole or, failing that, from its last non-empty line.
 */
function parseTerminalOutput(config: CommandAgentConfig, text: string): unknown {
  if (config.output === 'text') return text;
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    const last = text.trimEnd().split('\n').pop()!;
    try {
      return JSON.parse(last);
    } catch (cause) {
      const head = JSON.stringify(last.slice(0, 120));
      throw new TroupeError('TROUPE_COMMAND_OUTPUT', `${config.command}: the terminal output is not JSON, nor is its last line (got ${head})`, { cause });
    }
  }
}

/** Where a run's input goes with `input: 'stdin'`: the terminal is the process's stdin, so a file (TROUPE_INPUT_FILE). */
function inputFile(input: unknown): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-input-'));
  const path = join(dir, 'input.json');
  writeFileSync(path, JSON.stringify(input ?? null), { mode: 0o600 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs one command-agent task in a pseudo-terminal, in its own session and process group (its
 * controlling terminal). Its output, stdout and stderr as one stream, goes to the task's terminal
 * (`LiveTerminal`, for `troupe attach`) and, line by line, to the task's kept output with escapes
 * (stream 'tty'); protocol lines are read from it, escapes stripped. The result is made from the
 * plain text of the output's last `maxOutputBytes`.
 */
export function runPty(config: CommandAgentConfig, task: CommandTask, hooks: TaskHooks & TerminalHooks): RunningCommand {
  let pid: number | undefined;
  let exited: Promise<TerminalExit> | undefined;
  let stopped = false;
  const stop = (): void => {
    if (pid === undefined) stopped = true;
    else stopGroup(pid, config.killGraceMs, (check) => void exited!.finally(check));
  };
  const kill = (): void => {
    if (pid === undefined) stopped = true;
    else signalGroup(pid, 'SIGKILL');
  };
  const done = loadPty().then(
    (mod) => {
      if (stopped) throw spawnError(config, new Error('stopped before it started'));
      const run = start(mod, config, task, hooks, stop);
      pid = run.pid;
      exited = run.exited;
      return run.done;
    },
    (cause: unknown) => {
      throw unavailable(config, cause);
    },
  );
  return {
    get pid() {
      return pid;
    },
    done,
    stop,
    kill,
  };
}

function start(mod: PtyModule, config: CommandAgentConfig, task: CommandTask, hooks: TaskHooks & TerminalHooks, stop: () => void): { pid: number; exited: Promise<TerminalExit>; done: Promise<unknown> } {
  const env = commandEnv(config, task);
  const cwd = task.workspace?.path ?? config.cwd ?? process.cwd(); // as command-runner: its worktree first
  checkSpawnable(config, env, cwd);
  const { cols, rows } = ttySize(config);
  const file = config.input === 'stdin' ? inputFile(task.input) : undefined;
  if (file !== undefined) env.TROUPE_INPUT_FILE = file.path;
  let pty: IPty;
  try {
    const args = config.input === 'args' ? substituteArgs(config.args, task.input) : config.args;
    pty = mod.spawn(config.command, args, { name: config.env?.TERM ?? 'xterm-256color', cols, rows, cwd, env, encoding: 'utf8' });
  } catch (cause) {
    file?.remove();
    throw spawnError(config, cause);
  }
  const live = new LiveTerminal(task.taskId, task.attempt, pty.pid, cols, rows, { write: (d) => pty.write(d), resize: (c, r) => pty.resize(c, r) });
  hooks.terminal?.(live);
  hooks.started?.({ pid: pty.pid });
  const hint: FailureHint = {};
  const result = new TailBuffer(config.maxOutputBytes);
  const tail = new TailBuffer(config.stderrTailBytes);
  const line = (text: string): void => {
    const raw = text.endsWith('\r') ? text.slice(0, -1) : text; // the terminal ends lines with \r\n
    const plain = plainLine(raw);
    if (protocolLine(plain, hooks, hint, stop)) return;
    const bytes = Buffer.from(`${plain}\n`);
    result.push(bytes);
    tail.push(bytes);
    hooks.ttyLine?.(raw.length > MAX_LOG_LINE ? raw.slice(0, MAX_LOG_LINE) : raw, plain.slice(0, MAX_LOG_LINE));
  };
  let partial = '';
  pty.onData((chunk) => {
    live.data(chunk);
    hooks.heartbeat();
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    // One character past the limit is kept: enough to know a checkpoint line is too long.
    if (partial.length > MAX_STDERR_LINE) partial = partial.slice(0, MAX_STDERR_LINE + 1);
    for (const l of lines) line(l);
  });
  const exited = new Promise<TerminalExit>((resolveExit) => {
    pty.onExit(({ exitCode, signal }) => {
      if (partial !== '') line(partial);
      partial = '';
      const name = signal !== undefined && signal !== 0 ? signalName(signal) : null;
      const exit = { exitCode: name === null ? exitCode : null, signal: name };
      live.end(exit);
      file?.remove();
      resolveExit(exit);
    });
  });
  const done = exited.then(({ exitCode, signal }) => {
    if (hint.unkeepable !== undefined) throw new TroupeError('TROUPE_UNCLONEABLE_RESULT', `${config.command}: ${hint.unkeepable}`);
    if (exitCode !== 0) throw exitError(config, exitCode, signal, tail.text(), hint);
    return parseTerminalOutput(config, result.text());
  });
  return { pid: pty.pid, exited, done };
}

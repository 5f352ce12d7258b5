import { spawn, type ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { TroupeError } from '../../core/errors.js';
import type { CommandAgentConfig } from '../../core/config.js';
import type { TaskHooks } from './module-runner.js';
import { splitLines } from './lines.js';
import { signalGroup, stopGroup } from './process-group.js';
import { MAX_LOG_LINE } from '../../core/limits.js';

/** What one run of a command agent gets. */
export interface CommandTask {
  taskId: string;
  attempt: number;
  input: unknown;
  /** The task's last checkpoint from an earlier attempt, passed as TROUPE_CHECKPOINT (JSON). */
  checkpoint: unknown;
  /** Results of the task's parents, by name or id, passed as TROUPE_PARENTS (JSON). */
  parents?: Record<string, unknown>;
  /** The manager task it runs under (`distribute()`), passed as TROUPE_MANAGER_ID. */
  managerId?: string;
  /** Its token (TROUPE_TASK_TOKEN): what the process shows the daemon to submit children and read its subtree. */
  token?: string;
  /** Its git worktree (agent option `workspace`): the command's cwd, and TROUPE_WORKSPACE/BRANCH/BASE. */
  workspace?: { path: string; branch: string; base: string };
}

export interface RunningCommand {
  readonly pid: number | undefined;
  /** Settles once the process has exited and its pipes are closed. */
  readonly done: Promise<unknown>;
  /** SIGTERM to the process group, then SIGKILL after `killGraceMs` if it is still there. */
  stop(): void;
  /** SIGKILL to the process group now. */
  kill(): void;
}

/** Lines on stderr that start with these are protocol, not log text. */
const PROGRESS_PREFIX = '::progress ';
const CHECKPOINT_PREFIX = '::checkpoint ';
const HEARTBEAT_LINE = '::heartbeat';
/** A command that then exits non-zero asks for a retry after N ms (a 429), or for none at all. */
const RETRY_AFTER_PREFIX = '::retry-after ';
const UNRECOVERABLE_LINE = '::unrecoverable';

/** What a command said on stderr about its own failure. */
export interface FailureHint {
  retryAfterMs?: number;
  unrecoverable?: boolean;
  /** Why the run's checkpoint cannot be kept: the task fails with TROUPE_UNCLONEABLE_RESULT. */
  unkeepable?: string;
}
/** A checkpoint returns to the next attempt as TROUPE_CHECKPOINT; Linux takes 128 KiB per environment string. */
export const MAX_COMMAND_CHECKPOINT = 96 * 1024;
/** The longest stderr line read whole: a checkpoint line at its limit. Longer lines are cut (logs) or refused (checkpoints). */
export const MAX_STDERR_LINE = MAX_COMMAND_CHECKPOINT + 16;

/** Replaces `{{input}}` (the whole input as JSON) and `{{input.a.b}}` (one field) in an argument. */
export function substituteArgs(args: readonly string[], input: unknown): string[] {
  return args.map((arg) =>
    arg.replace(/\{\{\s*input((?:\.[A-Za-z0-9_$-]+)*)\s*\}\}/g, (_m, path: string) => {
      let value: unknown = input;
      // Own fields only: `{{input.constructor}}` names no field of the input.
      for (const key of path.split('.').slice(1)) value = value !== null && typeof value === 'object' && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
      return typeof value === 'string' ? value : JSON.stringify(value ?? null);
    }),
  );
}

/** Collects at most `limit` bytes from the head of a stream and notes whether more came. */
class HeadBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  overflowed = false;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (chunk.length > room) this.overflowed = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Keeps the last `limit` bytes of a stream (the tail of stderr, for failure reports). */
export class TailBuffer {
  private buf = Buffer.alloc(0);
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.buf, chunk]);
    this.buf = joined.length > this.limit ? joined.subarray(joined.length - this.limit) : joined;
  }
  /** The tail as text. A cut inside a UTF-8 character drops its continuation bytes (10xxxxxx): no U+FFFD. */
  text(): string {
    let start = 0;
    while (start < this.buf.length && start < 3 && (this.buf[start]! & 0xc0) === 0x80) start += 1;
    return this.buf.subarray(start).toString('utf8');
  }
}

function onStderrLines(child: ChildProcess, tail: TailBuffer, hooks: TaskHooks, hint: FailureHint, stop: () => void): void {
  // Chunks end anywhere, also inside a multi-byte character: the decoder holds such bytes back.
  const decoder = new StringDecoder('utf8');
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    hooks.heartbeat();
    const lines = (partial + decoder.write(chunk)).split('\n');
    partial = lines.pop() ?? '';
    // One character past the limit is kept: enough to know the line is too long.
    if (partial.length > MAX_STDERR_LINE) partial = partial.slice(0, MAX_STDERR_LINE + 1);
    for (const line of lines) handleStderrLine(line, tail, hooks, hint, stop);
  });
  child.stderr!.on('end', () => {
    partial += decoder.end();
    if (partial !== '') handleStderrLine(partial, tail, hooks, hint, stop);
  });
}

/** A protocol line is acted on; any other goes to the failure tail and, unless blank, to the task's log. */
function handleStderrLine(line: string, tail: TailBuffer, hooks: TaskHooks, hint: FailureHint, stop: () => void): void {
  if (protocolLine(line, hooks, hint, stop)) return;
  tail.push(Buffer.from(`${line}\n`));
  if (line.trim() !== '') hooks.log(line, 'stderr');
}

/** Acts on a protocol line (`::progress`, `::checkpoint`, ...) and returns true; false for any other line. */
export function protocolLine(line: string, hooks: TaskHooks, hint: FailureHint, stop: () => void): boolean {
  if (!line.startsWith('::')) return false;
  if (line === HEARTBEAT_LINE) return true;
  if (line.length > MAX_STDERR_LINE && line.startsWith(CHECKPOINT_PREFIX)) {
    // The task has failed whatever comes next (like an stdout overflow): stop the command.
    if (hint.unkeepable === undefined) stop();
    hint.unkeepable = `a checkpoint must be at most ${MAX_COMMAND_CHECKPOINT} characters of JSON (it returns as TROUPE_CHECKPOINT)`;
    return true;
  }
  if (line === UNRECOVERABLE_LINE) {
    hint.unrecoverable = true;
    return true;
  }
  if (line.startsWith(RETRY_AFTER_PREFIX)) {
    const ms = Number(line.slice(RETRY_AFTER_PREFIX.length));
    if (Number.isFinite(ms) && ms >= 0) hint.retryAfterMs = ms;
    return true;
  }
  const checkpoint = line.startsWith(CHECKPOINT_PREFIX);
  if (checkpoint || line.startsWith(PROGRESS_PREFIX)) {
    const raw = line.slice((checkpoint ? CHECKPOINT_PREFIX : PROGRESS_PREFIX).length);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // Not JSON: reported as the text it is.
    }
    hooks.progress(value, checkpoint);
    return true;
  }
  return false;
}

function overflowError(config: CommandAgentConfig): TroupeError {
  const message = `${config.command}: stdout exceeded maxOutputBytes (${config.maxOutputBytes})`;
  return new TroupeError('TROUPE_COMMAND_OUTPUT', message);
}

export function spawnError(config: CommandAgentConfig, cause: unknown): TroupeError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TroupeError('TROUPE_COMMAND_SPAWN_FAILED', `${config.command}: could not start (${reason})`, { cause });
}

function parseOutput(config: CommandAgentConfig, out: HeadBuffer): unknown {
  if (out.overflowed) throw overflowError(config);
  const text = out.text();
  if (config.output === 'text') return text;
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch (cause) {
    const head = JSON.stringify(text.slice(0, 120));
    throw new TroupeError('TROUPE_COMMAND_OUTPUT', `${config.command}: stdout is not valid JSON (got ${head})`, { cause });
  }
}

export function exitError(config: CommandAgentConfig, code: number | null, signal: string | null, stderrTail: string, hint: FailureHint): Error {
  const how = code !== null ? `exited with code ${code}` : `was killed by ${signal}`;
  const lastLine = stderrTail.trimEnd().split('\n').pop() ?? '';
  const message = `${config.command} ${how}${lastLine ? `: ${lastLine}` : ''}`;
  const err = new TroupeError('TROUPE_COMMAND_FAILED', message, { details: { exitCode: code, signal, stderrTail } });
  // The retry policy reads these by name, as it does for errors thrown by module agents.
  if (hint.unrecoverable === true) err.name = 'UnrecoverableError';
  else if (hint.retryAfterMs !== undefined) Object.assign(err, { name: 'RetryAfterError', retryAfterMs: hint.retryAfterMs });
  return err;
}

/**
 * Runs one command-agent task as a subprocess in its own process group (so that stopping it also
 * stops whatever it started). Input goes as JSON on stdin or into the arguments; stdout is the
 * result (JSON or text, bounded); stderr lines become log events and its tail explains failures.
 */
/** The environment of a run: the parent's, the agent's `env`, and the task's identity and checkpoint. */
export function commandEnv(config: CommandAgentConfig, task: CommandTask): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...config.env, TROUPE_TASK_ID: task.taskId, TROUPE_ATTEMPT: String(task.attempt) };
  if (task.checkpoint !== undefined) env.TROUPE_CHECKPOINT = JSON.stringify(task.checkpoint);
  if (task.parents !== undefined) env.TROUPE_PARENTS = JSON.stringify(task.parents);
  if (task.token !== undefined) env.TROUPE_TASK_TOKEN = task.token;
  if (task.managerId !== undefined) env.TROUPE_MANAGER_ID = task.managerId;
  if (task.workspace !== undefined) Object.assign(env, { TROUPE_WORKSPACE: task.workspace.path, TROUPE_BRANCH: task.workspace.branch, TROUPE_BASE: task.workspace.base });
  return env;
}

export function runCommand(config: CommandAgentConfig, task: CommandTask, hooks: TaskHooks): RunningCommand {
  const input = task.input;
  let child: ChildProcess;
  try {
    const args = config.input === 'args' ? substituteArgs(config.args, input) : config.args;
    child = spawn(config.command, args, {
      cwd: task.workspace?.path ?? config.cwd,
      env: commandEnv(config, task),
      stdio: [config.input === 'stdin' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
  } catch (cause) {
    // spawn() throws, rather than emitting 'error', for arguments the OS cannot take (a NUL byte
    // from the task's input, say). That is this task's failure; thrown, it would crash the Agent.
    return { pid: undefined, done: Promise.reject(spawnError(config, cause)), stop: () => undefined, kill: () => undefined };
  }
  const stop = (): void =>
    stopGroup(child.pid, config.killGraceMs, (check) => {
      child.once('exit', check);
      child.once('close', check);
    });
  const out = new HeadBuffer(config.maxOutputBytes);
  const tail = new TailBuffer(config.stderrTailBytes);
  const hint: FailureHint = {};
  hooks.started?.({ pid: child.pid });
  child.stdout!.on('data', (chunk: Buffer) => {
    const wasOverflowed = out.overflowed;
    out.push(chunk);
    hooks.heartbeat();
    // Past the limit the task has failed whatever comes next: stop the command rather than drain
    // its output for as long as it cares to write (for ever, for some).
    if (out.overflowed && !wasOverflowed) stop();
  });
  onStderrLines(child, tail, hooks, hint, stop);
  const output = hooks.output;
  if (output !== undefined) splitLines(child.stdout!, MAX_LOG_LINE, output);
  if (child.stdin) {
    child.stdin.on('error', () => undefined); // EPIPE when the command does not read its input
    child.stdin.end(JSON.stringify(input ?? null));
  }
  const done = new Promise<unknown>((resolve, reject) => {
    child.once('error', (cause) => reject(spawnError(config, cause)));
    child.once('close', (code, signal) => {
      // Settle, never throw: a throw in an event listener is an uncaught exception, not a failed task.
      // An overflow comes first: it is why the command was stopped, if it was.
      if (out.overflowed) return reject(overflowError(config));
      if (hint.unkeepable !== undefined) return reject(new TroupeError('TROUPE_UNCLONEABLE_RESULT', `${config.command}: ${hint.unkeepable}`));
      if (code !== 0) return reject(exitError(config, code, signal, tail.text(), hint));
      try {
        resolve(parseOutput(config, out));
      } catch (err) {
        reject(err);
      }
    });
  });
  return { pid: child.pid, done, stop, kill: () => void signalGroup(child.pid, 'SIGKILL') };
}

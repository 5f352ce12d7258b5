import { spawn, type ChildProcess } from 'node:child_process';
import { TroupeError } from '../../runtime/errors.js';
import type { CommandAgentConfig } from '../../runtime/options.js';

export interface CommandHooks {
  progress(value: unknown): void;
  heartbeat(): void;
  log(message: string): void;
}

export interface RunningCommand {
  readonly pid: number | undefined;
  /** Settles once the process has exited and its pipes are closed. */
  readonly done: Promise<unknown>;
  /** SIGTERM to the process group, then SIGKILL after `killGraceMs` if it is still there. */
  stop(): void;
}

/** Lines on stderr that start with these are protocol, not log text. */
const PROGRESS_PREFIX = '::progress ';
const HEARTBEAT_LINE = '::heartbeat';
const MAX_LOG_LINE = 2000;

/** Replaces `{{input}}` (the whole input as JSON) and `{{input.a.b}}` (one field) in an argument. */
export function substituteArgs(args: readonly string[], input: unknown): string[] {
  return args.map((arg) =>
    arg.replace(/\{\{\s*input((?:\.[A-Za-z0-9_$-]+)*)\s*\}\}/g, (_m, path: string) => {
      let value: unknown = input;
      for (const key of path.split('.').slice(1)) value = (value as Record<string, unknown> | null)?.[key];
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
class TailBuffer {
  private buf = Buffer.alloc(0);
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.buf, chunk]);
    this.buf = joined.length > this.limit ? joined.subarray(joined.length - this.limit) : joined;
  }
  text(): string {
    return this.buf.toString('utf8');
  }
}

function onStderrLines(child: ChildProcess, tail: TailBuffer, hooks: CommandHooks): void {
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    tail.push(chunk);
    hooks.heartbeat();
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    if (partial.length > MAX_LOG_LINE) partial = partial.slice(0, MAX_LOG_LINE);
    for (const line of lines) handleStderrLine(line, hooks);
  });
  child.stderr!.on('end', () => partial !== '' && handleStderrLine(partial, hooks));
}

function handleStderrLine(line: string, hooks: CommandHooks): void {
  if (line === HEARTBEAT_LINE) return;
  if (line.startsWith(PROGRESS_PREFIX)) {
    const raw = line.slice(PROGRESS_PREFIX.length);
    try {
      hooks.progress(JSON.parse(raw));
    } catch {
      hooks.progress(raw);
    }
    return;
  }
  if (line.trim() !== '') hooks.log(line.slice(0, MAX_LOG_LINE));
}

function parseOutput(config: CommandAgentConfig, out: HeadBuffer): unknown {
  if (out.overflowed) {
    throw new TroupeError('TROUPE_COMMAND_OUTPUT', `${config.command}: stdout exceeded maxOutputBytes (${config.maxOutputBytes})`);
  }
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

function exitError(config: CommandAgentConfig, code: number | null, signal: string | null, stderrTail: string): TroupeError {
  const how = code !== null ? `exited with code ${code}` : `was killed by ${signal}`;
  const lastLine = stderrTail.trimEnd().split('\n').pop() ?? '';
  const message = `${config.command} ${how}${lastLine ? `: ${lastLine}` : ''}`;
  return new TroupeError('TROUPE_COMMAND_FAILED', message, { details: { exitCode: code, signal, stderrTail } });
}

/**
 * Runs one command-agent task as a subprocess in its own process group (so that stopping it also
 * stops whatever it started). Input goes as JSON on stdin or into the arguments; stdout is the
 * result (JSON or text, bounded); stderr lines become log events and its tail explains failures.
 */
export function runCommand(config: CommandAgentConfig, input: unknown, hooks: CommandHooks): RunningCommand {
  const args = config.input === 'args' ? substituteArgs(config.args, input) : config.args;
  const child = spawn(config.command, args, {
    cwd: config.cwd,
    env: config.env === undefined ? process.env : { ...process.env, ...config.env },
    stdio: [config.input === 'stdin' ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const out = new HeadBuffer(config.maxOutputBytes);
  const tail = new TailBuffer(config.stderrTailBytes);
  child.stdout!.on('data', (chunk: Buffer) => {
    out.push(chunk);
    hooks.heartbeat();
  });
  onStderrLines(child, tail, hooks);
  if (child.stdin) {
    child.stdin.on('error', () => undefined); // EPIPE when the command does not read its input
    child.stdin.end(JSON.stringify(input ?? null));
  }
  const done = new Promise<unknown>((resolve, reject) => {
    child.once('error', (cause) =>
      reject(new TroupeError('TROUPE_COMMAND_SPAWN_FAILED', `${config.command}: could not start (${cause.message})`, { cause })),
    );
    child.once('close', (code, signal) => {
      if (code === 0) resolve(parseOutput(config, out));
      else reject(exitError(config, code, signal, tail.text()));
    });
  });
  return { pid: child.pid, done, stop: () => stopGroup(child, config.killGraceMs) };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function stopGroup(child: ChildProcess, graceMs: number): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  child.once('close', () => clearTimeout(timer));
}

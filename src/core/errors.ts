/**
 * Every error Troupe raises is a `TroupeError` with a stable string `code`.
 * Codes never change meaning; the README's error table is checked against `ERROR_CODES` by a test.
 */
export const ERROR_CODES = {
  TROUPE_INVALID_OPTIONS: 'Supervisor options are invalid: a wrong type, a broken rule or a misspelled key.',
  TROUPE_INVALID_TASK: 'A submitted task is invalid: a wrong type, a broken rule or a misspelled key.',
  TROUPE_UNKNOWN_AGENT: 'A task names an agent that is not configured.',
  TROUPE_UNKNOWN_RESOURCE: 'A task names a resource that is not configured.',
  TROUPE_UNCLONEABLE_INPUT: 'A task input cannot be sent to a worker thread or subprocess, cannot be serialized for the journal, or is over 64 MiB serialized.',
  TROUPE_UNCLONEABLE_RESULT: 'A task result or checkpoint cannot be kept: it does not cross threads, cannot be serialized for the journal, or is over 64 MiB serialized. Only that task failed (it is dead, not retried).',
  TROUPE_UNKNOWN_TASK: 'No task has the given id.',
  TROUPE_AGENT_MODULE_NOT_FOUND: 'A module agent names a file that does not exist.',
  TROUPE_AGENT_MODULE_INVALID: 'A module agent fails to load or its default export is not made by defineAgent().',
  TROUPE_TASK_FAILED: 'The task failed; `cause` holds the error its handler or process produced.',
  TROUPE_TASK_CANCELLED: 'The task was cancelled before it finished.',
  TROUPE_TASK_TIMEOUT: 'A run took longer than its `timeoutMs`; it was stopped and counts as a failed attempt.',
  TROUPE_TASK_STALLED: 'A run sent no heartbeat for `stallTimeoutMs`; it was stopped and counts as a failed attempt.',
  TROUPE_THREAD_DIED: 'The pool thread running the task died (uncaught error, process.exit, out of memory); only its task failed.',
  TROUPE_MAX_STARTS: 'The task was started `retry.maxStarts` times (crashes included) without finishing; it is dead.',
  TROUPE_DEPENDENCY_CYCLE: 'The dependencies of a submitted graph form a cycle, a task that depends on itself included (the message names it); nothing of the batch was accepted.',
  TROUPE_UNKNOWN_DEPENDENCY: 'A task depends on a task id or graph name that does not exist; nothing of the batch was accepted.',
  TROUPE_DEPENDENCY_FAILED: 'A parent of the task ended without success and the task\'s `onParentFailure` is `fail`: it never ran and is dead.',
  TROUPE_INVALID_PLAN: 'A plan from imports was asked for with a bad directory (missing, not a directory) or bad options.',
  TROUPE_TASK_NOT_DEAD: 'Only dead tasks can be redriven; the task named is in another state.',
  TROUPE_UNKNOWN_BREAKER: 'No agent or resource has a breaker with the given key.',
  TROUPE_BAD_REQUEST: 'An HTTP request to the daemon is malformed: not JSON, too large, or an unknown route.',
  TROUPE_UNAUTHORIZED: 'An HTTP request on the TCP listener lacks the right bearer token.',
  TROUPE_FORBIDDEN: 'An HTTP request on the TCP listener asks for something its configuration does not allow there (a plan of a directory outside `tcp.planRoots`).',
  TROUPE_INTERNAL: 'The daemon failed on a request for a reason of its own; its log has the details.',
  TROUPE_DAEMON_UNREACHABLE: 'No daemon answers at the socket or URL given (a tool of `troupe mcp`); start one with `troupe daemon`.',
  TROUPE_COMMAND_FAILED: 'A command agent exited with a non-zero code or was killed by a signal.',
  TROUPE_COMMAND_NOT_FOUND: 'A command agent\'s executable was not found at start (not on PATH, missing, or not executable) and its `commandCheck` is `fail` (the default): set `commandCheck: \'warn\'` for a command that appears later.',
  TROUPE_COMMAND_SPAWN_FAILED: 'A command agent could not be started (missing executable, bad cwd).',
  TROUPE_COMMAND_OUTPUT: 'A command agent wrote output that is not valid JSON or exceeds the capture limit.',
  TROUPE_NO_TERMINAL: 'The task has no terminal to attach to: its agent has no `tty`, or it is not running (its process has exited).',
  TROUPE_SHUTTING_DOWN: 'The supervisor is shutting down or stopped and accepts no new work.',
  TROUPE_RESTART_INTENSITY: 'An actor crashed more often than the restart intensity allows; the runtime shut down.',
  TROUPE_JOURNAL_LOCKED: 'The journal file is held by another runtime (the message names the file and the holder).',
  TROUPE_JOURNAL_FULL: 'The journal could not be written because the disk is full; accepted tasks are kept.',
  TROUPE_JOURNAL_READONLY: 'The journal could not be written because it is read-only; accepted tasks are kept.',
  TROUPE_JOURNAL_IO: 'The journal could not be opened or written for another I/O reason; accepted tasks are kept.',
  TROUPE_NO_MANAGER: 'Every manager task a distributed task could run under has ended; the task is dead (redrive it with new managers alive).',
  TROUPE_WORKSPACE_FAILED: 'The task\'s git worktree (agent option `workspace`) could not be made; the run failed before it began (a `base` that names no commit is not retried).',
  TROUPE_MERGE_CONFLICT: 'A task succeeded but its branch could not be merged back (`workspace.merge`): conflicting files, not a fast-forward, or the target checkout in the way. The task is dead; its branch and worktree are kept.',
  TROUPE_STORE_CONFLICT: 'The store refused a commit: a task id or idempotency key was taken, or a task was no longer held under the lease the writer had (fencing); nothing of the commit was written.',
  TROUPE_JOURNAL_CORRUPT: 'The journal file is corrupt, foreign or from a newer version; it was not opened or changed.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface TroupeErrorOptions {
  cause?: unknown;
  /** Extra structured facts (field, value, agent, ...) kept on the error for programs to read. */
  details?: Record<string, unknown>;
}

/** Base error of every failure Troupe reports. `code` is stable; `message` is for people. */
export class TroupeError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: TroupeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TroupeError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** Renders a value for an error message: short, unambiguous, never throws. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (value === undefined || typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return Object.prototype.toString.call(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** An error that names the field, the rule it broke and the value it had. */
export function fieldError(code: ErrorCode, field: string, rule: string, value: unknown, cause?: unknown): TroupeError {
  return new TroupeError(code, `${field}: ${rule} (got ${describeValue(value)})`, {
    cause,
    details: { field, rule, value },
  });
}

/** The same error, its field renamed from `from.x` to `to.x` (a task's place in a batch). */
export function renameField(err: unknown, from: string, to: string): unknown {
  if (!(err instanceof TroupeError)) return err;
  const field = err.details.field;
  if (typeof field !== 'string' || !field.startsWith(from)) return err;
  const renamed = to + field.slice(from.length);
  return new TroupeError(err.code, err.message.replace(field, renamed), { cause: err.cause, details: { ...err.details, field: renamed } });
}

/** The plain, cloneable form of an error that crosses threads, processes and (later) the journal. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  exitCode?: number | null;
  signal?: string | null;
  stderrTail?: string;
  /** Set by `RetryAfterError`: how long to wait before the next attempt. */
  retryAfterMs?: number;
  /** Set by TROUPE_MERGE_CONFLICT: the files that conflict. */
  conflicts?: string[];
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name, message: err.message };
    const extra = err as Error & Partial<SerializedError> & { details?: Record<string, unknown> };
    if (typeof extra.code === 'string') out.code = extra.code;
    if (err.stack !== undefined) out.stack = err.stack;
    const facts = extra.details ?? extra;
    if (typeof facts.exitCode === 'number' || facts.exitCode === null) out.exitCode = facts.exitCode as number | null;
    if (typeof facts.signal === 'string') out.signal = facts.signal;
    if (typeof facts.stderrTail === 'string') out.stderrTail = facts.stderrTail;
    if (Array.isArray(facts.conflicts)) out.conflicts = facts.conflicts.filter((f): f is string => typeof f === 'string');
    const retryAfterMs = (err as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs)) out.retryAfterMs = retryAfterMs;
    return out;
  }
  return { name: 'NonError', message: describeValue(err) };
}

/** Rebuilds an `Error` from its serialized form so `cause` chains read naturally. */
export function deserializeError(data: SerializedError): Error {
  const err = new Error(data.message) as Error & Omit<SerializedError, 'name' | 'message'>;
  err.name = data.name;
  if (data.stack !== undefined) err.stack = data.stack;
  if (data.code !== undefined) err.code = data.code;
  if (data.exitCode !== undefined) err.exitCode = data.exitCode;
  if (data.signal !== undefined) err.signal = data.signal;
  if (data.stderrTail !== undefined) err.stderrTail = data.stderrTail;
  if (data.retryAfterMs !== undefined) err.retryAfterMs = data.retryAfterMs;
  if (data.conflicts !== undefined) err.conflicts = data.conflicts;
  return err;
}

/**
 * Tool results: the structured answer with its JSON as text (for clients that read text only), and
 * every failure as a result with `isError` and the Troupe error code, never a protocol error or a
 * dropped connection: a model reads it and can correct its call.
 */
import type { CallToolResult } from '@modelcontextprotocol/server';
import { TroupeError, type TaskInfo } from '../index.js';
import { FINISHED } from './schemas.js';

/** A result's JSON beyond this many characters is cut in status answers (getTask returns it whole). */
export const MAX_RESULT_CHARS = 20_000;

export function ok(structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

/** The error as a tool result: `isError`, the code and message as text and as `structuredContent.error`. */
export function failure(err: unknown): CallToolResult {
  const error =
    err instanceof TroupeError
      ? { code: err.code as string, message: err.message, ...(typeof err.details.field === 'string' && { field: err.details.field }) }
      : { code: 'TROUPE_INTERNAL', message: err instanceof Error ? err.message : String(err) };
  return { isError: true, content: [{ type: 'text', text: `${error.code}: ${error.message}` }], structuredContent: { error } };
}

/** Runs a tool's body: its answer, or its failure as an `isError` result. */
export async function answer(body: () => Promise<Record<string, unknown>>): Promise<CallToolResult> {
  try {
    return ok(await body());
  } catch (err) {
    return failure(err);
  }
}

/** What a model needs of a task's outcome: its state, and its result (succeeded) or error (dead, cancelled). */
export function outcomeOf(task: Pick<TaskInfo, 'state' | 'result' | 'error' | 'cancelReason'>): Record<string, unknown> {
  const out: Record<string, unknown> = { state: task.state };
  if (task.state === 'succeeded') out.result = bounded(task.result);
  if (task.error !== undefined && (task.state === 'dead' || task.state === 'delayed')) {
    out.error = { ...(task.error.code === undefined ? {} : { code: task.error.code }), message: task.error.message };
  }
  if (task.state === 'cancelled') out.error = { code: 'TROUPE_TASK_CANCELLED', message: task.cancelReason ?? 'cancelled' };
  return out;
}

export const finished = (state: string): boolean => FINISHED.has(state);

/** The value, or a note of its size and its beginning when its JSON is too long for a status answer. */
function bounded(value: unknown): unknown {
  const json = JSON.stringify(value);
  if (json === undefined || json.length <= MAX_RESULT_CHARS) return value;
  return { truncated: true, chars: json.length, start: json.slice(0, 1_000), note: 'getTask returns the whole result' };
}

/** A task in a list: what it is and where it stands, without its input, result or history. */
export function summaryOf(task: TaskInfo): Record<string, unknown> {
  const { id, agent, state, attempt, priority, group, key, submittedAt, startedAt, finishedAt, progress, error } = task;
  return {
    id,
    agent,
    state,
    attempt,
    priority,
    ...(group === undefined ? {} : { group }),
    ...(key === undefined ? {} : { key }),
    submittedAt,
    ...(startedAt === undefined ? {} : { startedAt }),
    ...(finishedAt === undefined ? {} : { finishedAt }),
    ...(progress === undefined ? {} : { progress: bounded(progress) }),
    ...(error === undefined ? {} : { error: error.message }),
  };
}

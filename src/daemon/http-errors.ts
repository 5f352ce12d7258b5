import { TroupeError, type ErrorCode } from '../index.js';

/** The HTTP status each error code answers with (anything else is a 500). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  TROUPE_BAD_REQUEST: 400,
  TROUPE_INVALID_OPTIONS: 400,
  TROUPE_INVALID_TASK: 400,
  TROUPE_UNKNOWN_AGENT: 400,
  TROUPE_UNKNOWN_RESOURCE: 400,
  TROUPE_UNCLONEABLE_INPUT: 400,
  TROUPE_DEPENDENCY_CYCLE: 400,
  TROUPE_UNKNOWN_DEPENDENCY: 400,
  TROUPE_INVALID_PLAN: 400,
  TROUPE_UNAUTHORIZED: 401,
  TROUPE_UNKNOWN_TASK: 404,
  TROUPE_UNKNOWN_BREAKER: 404,
  TROUPE_TASK_NOT_DEAD: 409,
  TROUPE_SHUTTING_DOWN: 503,
  TROUPE_JOURNAL_READONLY: 503,
  TROUPE_JOURNAL_IO: 503,
  TROUPE_JOURNAL_FULL: 507,
};

/** The body of every error response: the error's stable code, its message and its facts. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** Maps any error to a status and a body; errors that are not TroupeErrors are not described (a 500). */
export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof TroupeError) {
    const { field, rule, value } = err.details as { field?: string; rule?: string; value?: unknown };
    const details = field === undefined ? undefined : { field, rule, value: jsonSafe(value) };
    return { status: STATUS[err.code] ?? 500, body: { error: { code: err.code, message: err.message, ...(details && { details }) } } };
  }
  const fastify = err as { statusCode?: number; message?: string; code?: string };
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return { status: fastify.statusCode, body: { error: { code: 'TROUPE_BAD_REQUEST', message: fastify.message ?? 'bad request' } } };
  }
  return { status: 500, body: { error: { code: 'TROUPE_INTERNAL', message: 'internal error (see the daemon log)' } } };
}

function jsonSafe(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value ?? null)) as unknown;
  } catch {
    return String(value);
  }
}

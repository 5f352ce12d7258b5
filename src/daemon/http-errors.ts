import type { Socket } from 'node:net';
import { MAX_INPUT_DEPTH, TroupeError, type ErrorCode } from '../index.js';
import { describeValue, nestingDepth } from '../internal.js';

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
  TROUPE_FORBIDDEN: 403,
  TROUPE_UNKNOWN_TASK: 404,
  TROUPE_UNKNOWN_BREAKER: 404,
  TROUPE_TASK_NOT_DEAD: 409,
  TROUPE_STORE_CONFLICT: 409,
  TROUPE_NO_TERMINAL: 409,
  TROUPE_SHUTTING_DOWN: 503,
  TROUPE_JOURNAL_READONLY: 503,
  TROUPE_JOURNAL_IO: 503,
  TROUPE_JOURNAL_FULL: 507,
};

/** The body of every error response: the error's stable code, its message and its facts. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

const INTERNAL: { status: number; body: ErrorBody } = {
  status: 500,
  body: { error: { code: 'TROUPE_INTERNAL', message: 'internal error (see the daemon log)' } },
};

/** Maps any error to a status and a body; errors that are not TroupeErrors are not described (a 500). Never throws. */
export function toHttpError(err: unknown): { status: number; body: ErrorBody } {
  try {
    return describe(err);
  } catch {
    return INTERNAL; // the error handler must answer whatever the error holds
  }
}

function describe(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof TroupeError) {
    const { field, rule, value } = err.details as { field?: string; rule?: string; value?: unknown };
    const details = field === undefined ? undefined : { field, rule, value: jsonSafe(value) };
    return { status: STATUS[err.code] ?? 500, body: { error: { code: err.code, message: err.message, ...(details && { details }) } } };
  }
  const fastify = err as { statusCode?: number; message?: string; code?: string };
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return { status: fastify.statusCode, body: { error: { code: 'TROUPE_BAD_REQUEST', message: fastify.message ?? 'bad request' } } };
  }
  return INTERNAL;
}

/**
 * The offending value as an answer can carry it: as JSON when it is JSON and no deeper than a task's
 * input may be, else described in a short string. (`String()` of a deep array recurses: never used.)
 */
function jsonSafe(value: unknown): unknown {
  if (nestingDepth(value) > MAX_INPUT_DEPTH) return describeValue(value);
  try {
    return JSON.parse(JSON.stringify(value ?? null)) as unknown;
  } catch {
    return describeValue(value);
  }
}

const CLIENT_ERRORS = new Map<string | undefined, [number, string]>([
  ['HPE_HEADER_OVERFLOW', [431, 'Request Header Fields Too Large']],
  ['ERR_HTTP_REQUEST_TIMEOUT', [408, 'Request Timeout']],
]);

/**
 * Answers a request Node's HTTP parser refused (an unknown method, a malformed request line, headers
 * too large) with the usual error body, where Fastify would write a shape of its own; then closes.
 * As Node does, nothing is written over a response already under way on the connection.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason] = CLIENT_ERRORS.get(err.code) ?? [400, 'Bad Request'];
  const body = JSON.stringify({ error: { code: 'TROUPE_BAD_REQUEST', message: `malformed HTTP request (${err.code ?? 'unparseable'})` } });
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && inFlight?.headersSent !== true) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

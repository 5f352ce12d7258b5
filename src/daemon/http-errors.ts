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
  TROUPE_NOT_FOUND: 404,
  TROUPE_METHOD_NOT_ALLOWED: 405,
  TROUPE_BODY_TOO_LARGE: 413,
  TROUPE_UNSUPPORTED_MEDIA_TYPE: 415,
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

/** What the error handler knows of the request, for the errors that name it. */
export interface RequestFacts {
  /** The request's `Content-Type` header, as sent. */
  contentType?: string | undefined;
  /** The listener's body limit (`bodyLimitBytes`). */
  bodyLimitBytes?: number;
}

/** The one content type the API's bodies take (`/login`'s form is its own route's). */
export const ACCEPTED_TYPE = 'application/json';

/** Maps any error to a status and a body; errors that are not TroupeErrors are not described (a 500). Never throws. */
export function toHttpError(err: unknown, facts: RequestFacts = {}): { status: number; body: ErrorBody } {
  try {
    return describe(err, facts);
  } catch {
    return INTERNAL; // the error handler must answer whatever the error holds
  }
}

/** Fastify's refusals of a body that name a code of their own: the type, the size. */
function bodyRefusal(code: string | undefined, facts: RequestFacts): { status: number; body: ErrorBody } | undefined {
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const received = facts.contentType === undefined || facts.contentType === '' ? 'no content type' : JSON.stringify(facts.contentType);
    const message = `a request body of ${received} is not accepted: send ${ACCEPTED_TYPE}`;
    const details = { field: 'headers.content-type', rule: `must be ${ACCEPTED_TYPE}`, value: facts.contentType ?? null };
    return { status: 415, body: { error: { code: 'TROUPE_UNSUPPORTED_MEDIA_TYPE', message, details } } };
  }
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = facts.bodyLimitBytes === undefined ? 'the limit' : `the limit of ${facts.bodyLimitBytes} bytes`;
    const message = `the request body is over ${limit} (bodyLimitBytes in the daemon's configuration)`;
    return { status: 413, body: { error: { code: 'TROUPE_BODY_TOO_LARGE', message, ...(facts.bodyLimitBytes !== undefined && { details: { limitBytes: facts.bodyLimitBytes } }) } } };
  }
  return undefined;
}

function describe(err: unknown, facts: RequestFacts): { status: number; body: ErrorBody } {
  if (err instanceof TroupeError) {
    const { field, rule, value } = err.details as { field?: string; rule?: string; value?: unknown };
    const details = field === undefined ? undefined : { field, rule, value: jsonSafe(value) };
    return { status: STATUS[err.code] ?? 500, body: { error: { code: err.code, message: err.message, ...(details && { details }) } } };
  }
  const fastify = err as { statusCode?: number; message?: string; code?: string };
  const refusal = bodyRefusal(fastify.code, facts);
  if (refusal !== undefined) return refusal;
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

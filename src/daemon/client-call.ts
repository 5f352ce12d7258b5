/**
 * The client commands' calls to the daemon, each failure turned into the exit status it means:
 * no daemon → EXIT.UNREACHABLE, 404 → EXIT.NOT_FOUND, any other error answer → EXIT.FAILED,
 * printed as `CODE: message` from the answer's body.
 */
import { callDaemon, streamDaemon, type Endpoint, type Response } from './client.js';
import { CliExit } from './cli-kit.js';
import { EXIT } from './exit-codes.js';

const where = (endpoint: Endpoint): string => ('socket' in endpoint ? endpoint.socket : endpoint.url);

/** No daemon answered (no socket there, connection refused, ...). */
export function unreachable(endpoint: Endpoint, err: unknown): CliExit {
  return new CliExit(EXIT.UNREACHABLE, `cannot reach the daemon at ${where(endpoint)}: ${(err as Error).message} (start one with \`troupe daemon --config <file>\`)`);
}

/** An error answer: its code and message, and the exit status for its HTTP status. */
export function refused(res: Response): CliExit {
  const error = (res.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const code = res.status === 404 ? EXIT.NOT_FOUND : res.status === 401 ? EXIT.UNREACHABLE : EXIT.FAILED;
  return new CliExit(code, `${error?.code ?? res.status}: ${error?.message ?? 'request failed'}`);
}

/** One request; its answer when it succeeded, else a CliExit. */
export async function call(endpoint: Endpoint, method: string, path: string, body?: unknown): Promise<Response> {
  let res: Response;
  try {
    res = await callDaemon(endpoint, method, path, body);
  } catch (err) {
    throw unreachable(endpoint, err);
  }
  if (res.status >= 400) throw refused(res);
  return res;
}

/** A streamed GET (newline-delimited JSON), each value to `onLine`; throws a CliExit on failure. */
export async function stream(endpoint: Endpoint, path: string, onLine: (value: unknown) => void): Promise<void> {
  let res: Response;
  try {
    res = await streamDaemon(endpoint, path, onLine);
  } catch (err) {
    throw unreachable(endpoint, err);
  }
  if (res.status >= 400) throw refused(res);
}

/** A task's outcome as `GET /v1/tasks/:id/result` answers it; `done: false` when the wait ran out first. */
export type Outcome = Record<string, unknown> & { done?: boolean; state?: string };

/** Waits for one task's outcome with long polls of up to 30 s, at most `timeoutMs`. */
export async function waitFor(endpoint: Endpoint, id: string, timeoutMs: number): Promise<Outcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waitMs = Math.max(0, Math.min(30_000, deadline - Date.now()));
    const body = (await call(endpoint, 'GET', `/v1/tasks/${encodeURIComponent(id)}/result?waitMs=${Math.round(waitMs)}`)).body as Outcome;
    if (body.done === true || Date.now() >= deadline) return body;
  }
}

/** The exit status of a task's outcome: 0 succeeded, 3 not ended yet, 1 dead or cancelled. */
export function outcomeCode(o: Outcome): number {
  if (o.done !== true) return EXIT.TIMED_OUT;
  return o.state === 'succeeded' ? EXIT.OK : EXIT.FAILED;
}

export const query = (params: Record<string, string | number | boolean | undefined>): URLSearchParams =>
  new URLSearchParams(
    Object.entries(params)
      .filter((e): e is [string, string | number | true] => e[1] !== undefined && e[1] !== false)
      .map(([k, v]): [string, string] => [k, v === true ? '1' : String(v)]),
  );

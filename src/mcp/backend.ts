/**
 * What the MCP tools run on: the daemon's HTTP API, reached through a `DaemonCall`. `troupe mcp`
 * (stdio) calls the daemon over its socket or TCP port (`callDaemon`); the daemon's own `/mcp`
 * calls its routes in-process (Fastify's `inject`). Either way a tool does exactly what the same
 * HTTP request does: one set of rules, whichever way the model comes in.
 */
import { TroupeError, type ErrorCode, type MetricsSnapshot, type TaskInfo } from '../index.js';

/** One JSON request to the daemon's HTTP API: its status and parsed body. Rejects only when no daemon answers. */
export type DaemonCall = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

export interface ListFilter {
  state?: string;
  agent?: string;
  group?: string;
  limit?: number;
  after?: string;
}

/** The body of `POST /v1/distribute`. */
export interface DistributeRequest {
  tasks: readonly Record<string, unknown>[];
  managers?: readonly string[];
  strategy?: string;
  hashField?: string;
}

/** The typed operations the tools use, each one route of the HTTP API. Failures are thrown as TroupeErrors. */
export class Backend {
  constructor(private readonly call: DaemonCall) {}

  /** `POST /v1/tasks` with an array: all validated before any is accepted; ids in order (a known idempotency key gives its task's id). */
  async submit(tasks: readonly Record<string, unknown>[]): Promise<string[]> {
    return (await this.request<{ ids: string[] }>('POST', '/v1/tasks', tasks)).ids;
  }

  async get(id: string): Promise<TaskInfo> {
    return this.request<TaskInfo>('GET', `/v1/tasks/${encodeURIComponent(id)}`);
  }

  async list(filter: ListFilter): Promise<TaskInfo[]> {
    const query = new URLSearchParams(Object.entries(filter).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]])));
    return (await this.request<{ tasks: TaskInfo[] }>('GET', `/v1/tasks?${query}`)).tasks;
  }

  /** True once cancelled, false if the task had already finished. */
  async cancel(id: string, reason?: string): Promise<boolean> {
    const body = reason === undefined ? undefined : { reason };
    return (await this.request<{ cancelled: boolean }>('POST', `/v1/tasks/${encodeURIComponent(id)}/cancel`, body)).cancelled;
  }

  async redrive(ids: readonly string[]): Promise<string[]> {
    return (await this.request<{ ids: string[] }>('POST', '/v1/dead-letters/redrive', { ids })).ids;
  }

  async snapshot(): Promise<MetricsSnapshot> {
    return this.request<MetricsSnapshot>('GET', '/v1/snapshot');
  }

  async distribute(body: DistributeRequest): Promise<{ ids: string[]; bindings: unknown }> {
    return this.request('POST', '/v1/distribute', body);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body);
    if (res.status < 400) return res.body as T;
    throw errorOf(res.status, res.body);
  }
}

/** The TroupeError an error answer carries (`{ error: { code, message, details } }`), whatever its shape. */
function errorOf(status: number, body: unknown): TroupeError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: Record<string, unknown> } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : 'TROUPE_INTERNAL';
  const message = typeof error?.message === 'string' ? error.message : `the daemon answered ${status}`;
  return new TroupeError(code as ErrorCode, message, error?.details === undefined ? {} : { details: error.details });
}

/**
 * The JSON client of the HTTP rows, and the two calls every task makes through it: submit, then
 * long-poll the outcome and check the no-op's echo.
 */
import { Agent, request, type IncomingMessage, type RequestOptions } from 'node:http';
import { AGENT, WAIT_MS } from './params.js';
import { connectionOf, type Endpoint } from './setup.js';

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

/**
 * A JSON client over one keep-alive http.Agent: at most `maxSockets` requests in flight, the rest
 * wait in the Agent's queue, and connections are reused rather than opened per request (as
 * `callDaemon` in src/daemon/client.ts, made for one-shot CLI commands, does not promise).
 */
export class ApiClient {
  private readonly agent: Agent;
  private readonly base: RequestOptions;
  private readonly auth: Record<string, string>;

  constructor(endpoint: Endpoint, maxSockets: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
    const { headers, ...connection } = connectionOf(endpoint);
    this.base = { ...connection, agent: this.agent };
    this.auth = (headers ?? {}) as Record<string, string>;
  }

  /** One request; rejects on a status of 300 or more, so a refused call never counts as work done. */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload === undefined ? this.auth : { ...this.auth, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
    return new Promise<T>((resolve, reject) => {
      const req = request({ ...this.base, method, path, headers }, (res) => {
        readBody(res).then((text) => {
          const status = res.statusCode ?? 0;
          if (status >= 300) reject(new Error(`bench: ${method} ${path} answered ${status}: ${text.slice(0, 200)}`));
          else resolve(JSON.parse(text) as T);
        }, reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

interface ResultBody {
  done: boolean;
  state?: string;
  result?: unknown;
  error?: string;
}

/** Long-polls a task's outcome and checks that the no-op echoed `expected`. */
export async function awaitEcho(api: ApiClient, id: string, expected: number): Promise<void> {
  const body = await api.call<ResultBody>('GET', `/v1/tasks/${id}/result?waitMs=${WAIT_MS}`);
  if (!body.done || body.state !== 'succeeded' || body.result !== expected) {
    throw new Error(`bench: task ${id} (input ${expected}) answered ${JSON.stringify(body)}`);
  }
}

export const submitOne = (api: ApiClient, input: number): Promise<{ id: string }> => api.call('POST', '/v1/tasks', { agent: AGENT, input });

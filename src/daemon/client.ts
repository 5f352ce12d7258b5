import { request as httpRequest } from 'node:http';

/** Where the daemon listens: its Unix socket, or its TCP URL with the bearer token. */
export type Endpoint = ({ socket: string } | { url: string; token: string }) & {
  /** Inside a command task: its TROUPE_TASK_TOKEN, which scopes every request to the task's subtree. */
  taskToken?: string;
};

/** The header a command task's process presents its task token in. */
export const TASK_TOKEN_HEADER = 'x-troupe-task-token';

export interface Response {
  status: number;
  body: unknown;
}

/** One JSON request to the daemon's HTTP API. */
export function callDaemon(endpoint: Endpoint, method: string, path: string, body?: unknown): Promise<Response> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = payload === undefined ? {} : { 'content-type': 'application/json' };
  const target = 'socket' in endpoint ? { socketPath: endpoint.socket } : new URL(endpoint.url);
  if ('token' in endpoint) headers.authorization = `Bearer ${endpoint.token}`;
  if (endpoint.taskToken !== undefined) headers[TASK_TOKEN_HEADER] = endpoint.taskToken;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...('socketPath' in target ? target : { host: target.hostname, port: target.port }), method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          // Not JSON (metrics, say): the text as it is.
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * A GET whose answer is newline-delimited JSON (`/v1/tasks/:id/logs`): `onLine` gets each value as
 * it comes. Resolves at the end of the stream with its status; an error answer (4xx, 5xx) is read
 * whole into `body` instead.
 */
export function streamDaemon(endpoint: Endpoint, path: string, onLine: (value: unknown) => void): Promise<Response> {
  const headers: Record<string, string> = {};
  const target = 'socket' in endpoint ? { socketPath: endpoint.socket } : new URL(endpoint.url);
  if ('token' in endpoint) headers.authorization = `Bearer ${endpoint.token}`;
  if (endpoint.taskToken !== undefined) headers[TASK_TOKEN_HEADER] = endpoint.taskToken;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...('socketPath' in target ? target : { host: target.hostname, port: target.port }), method: 'GET', path, headers }, (res) => {
      const status = res.statusCode ?? 0;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (status >= 400) return;
        const lines = text.split('\n');
        text = lines.pop() ?? '';
        for (const line of lines) if (line !== '') onLine(JSON.parse(line));
      });
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          // Not JSON: the text as it is.
        }
        resolve({ status, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `/mcp`: the MCP server over Streamable HTTP (the SDK's `createMcpHandler`: the 2026-07-28 protocol,
 * and the 2025 one served statelessly), on the socket and on the TCP listener, there behind the
 * token like every other route. Its tools call this server's own routes in-process (`inject`), so
 * that a tool does exactly what the same HTTP request does, as they do through `troupe mcp`.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { DaemonCall } from '../mcp/index.js';

type Handler = { fetch(request: Request, options?: { parsedBody?: unknown }): Promise<Response>; close(): Promise<void> };

/** The SDK is loaded on the first MCP request: a daemon that serves none does not pay for it. */
function lazyHandler(call: DaemonCall, closing: AbortSignal, bodyLimitBytes: number, log: Logger): { get(): Promise<Handler>; close(): Promise<void> } {
  let handler: Promise<Handler> | undefined;
  const get = (): Promise<Handler> =>
    (handler ??= Promise.all([import('@modelcontextprotocol/server'), import('../mcp/index.js')]).then(([sdk, mcp]) =>
      sdk.createMcpHandler(mcp.mcpServerFactory(call, { closing }), {
        maxRequestBodySize: bodyLimitBytes,
        onerror: (err) => log.debug({ err }, 'mcp request refused'),
      }),
    ));
  return { get, close: async () => (handler === undefined ? undefined : (await handler).close()) };
}

/** The Fetch API request the SDK takes, from Fastify's (its JSON body already parsed). */
function webRequest(req: FastifyRequest, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'content-length' || name === 'transfer-encoding') continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const url = new URL(req.url, `http://${req.headers.host ?? 'localhost'}`);
  const body = req.method === 'POST' && req.body !== undefined ? JSON.stringify(req.body) : undefined;
  return new Request(url, { method: req.method, headers, signal, ...(body === undefined ? {} : { body }) });
}

/** Sends the SDK's answer: a JSON body, or a Server-Sent Events stream (progress, then the result). */
function send(reply: FastifyReply, response: Response): FastifyReply {
  reply.code(response.status);
  response.headers.forEach((value, name) => void reply.header(name, value));
  if (response.body === null) return reply.send();
  return reply.send(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream));
}

export interface McpRouteOptions {
  bodyLimitBytes: number;
  /** The TCP listener's token now (it may be rotated): the in-process calls carry it through the token check as any client does. */
  token?: () => string;
  logger: Logger;
}

/** Serves MCP at `/mcp` (POST; GET and DELETE answer 405, there are no sessions to resume or end). */
export function mcpRoutes(app: FastifyInstance, options: McpRouteOptions): void {
  const token = options.token;
  const call: DaemonCall = async (method, url, body) => {
    const headers = token === undefined ? {} : { authorization: `Bearer ${token()}` };
    const res = await app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, body: res.body === '' ? undefined : (JSON.parse(res.body) as unknown) };
  };
  // Closing the server ends the waits under way at once, answered (a tool waiting for tasks would hold it up to 50 s).
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  const handler = lazyHandler(call, closing.signal, options.bodyLimitBytes, options.logger);
  app.addHook('onClose', () => handler.close());
  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/mcp',
    handler: async (req, reply) => {
      // A client that goes away aborts its request: a tool waiting for tasks stops waiting (the tasks run on).
      const gone = new AbortController();
      reply.raw.once('close', () => reply.raw.writableFinished || gone.abort());
      const response = await (await handler.get()).fetch(webRequest(req, gone.signal), req.method === 'POST' ? { parsedBody: req.body } : {});
      return send(reply, response);
    },
  });
}

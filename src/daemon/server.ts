import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Supervisor } from '../index.js';
import { requireToken } from './auth.js';
import { dashboardRoutes } from './dashboard-route.js';
import { answerClientError, toHttpError } from './http-errors.js';
import { eventRoutes } from './events-route.js';
import { logsRoutes } from './logs-route.js';
import { graphRoutes } from './graph-routes.js';
import { historyRoutes } from './history-route.js';
import { mcpRoutes } from './mcp-route.js';
import { metricsRoutes } from './metrics-route.js';
import { taskRoutes } from './routes.js';
import { consoleRoutes } from './console-routes.js';
import { taskScope } from './task-scope.js';
import { terminalRoutes } from './terminal-route.js';

export interface ServerOptions {
  bodyLimitBytes: number;
  /** Set for the TCP listener: every request must carry the token (header or dashboard cookie); the dashboard is served at `/`. */
  token?: string;
  /** Set for the TCP listener: the directories under which `POST /v1/plan` may read (none: no planning). */
  planRoots?: readonly string[];
  logger: Logger;
}

/** One HTTP API (the socket's or the TCP port's) over a running Supervisor. */
export function buildServer(sup: Supervisor, options: ServerOptions): FastifyInstance {
  // Requests are logged at info by Fastify: the HTTP logger keeps warnings and errors only.
  const http = options.logger.child({ actor: 'http' }, { level: options.logger.levelVal > 40 ? options.logger.level : 'warn' });
  // Every answer, whatever refused the request (the HTTP parser, the router, a body parser, a route), has the error body.
  const app: FastifyInstance = Fastify({
    bodyLimit: options.bodyLimitBytes,
    loggerInstance: http as unknown as FastifyBaseLogger,
    clientErrorHandler: answerClientError,
    // Node would answer a request without a Host header with a bare 400: the hook below answers with the error body.
    http: { requireHostHeader: false },
    frameworkErrors: (err, _req, reply) => {
      const { status, body } = toHttpError(err); // a malformed URL (FST_ERR_BAD_URL), before any route
      void (reply as FastifyReply).code(status).send(body);
    },
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.raw.httpVersion !== '1.1' || req.headers.host !== undefined) return;
    return reply.code(400).send({ error: { code: 'TROUPE_BAD_REQUEST', message: 'an HTTP/1.1 request must have a Host header' } });
  });
  if (options.token !== undefined) requireToken(app, options.token);
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toHttpError(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: { code: 'TROUPE_BAD_REQUEST', message: `no route ${req.method} ${req.url}` } }),
  );
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Ready means work really runs: a no-op job went through a pool thread just now.
  app.get('/readyz', async (_req, reply) => {
    const readiness = await sup.ready();
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
  taskScope(app, sup);
  taskRoutes(app, sup);
  consoleRoutes(app, sup);
  graphRoutes(app, sup, options.planRoots);
  eventRoutes(app, sup);
  logsRoutes(app, sup);
  terminalRoutes(app, sup);
  metricsRoutes(app, sup);
  historyRoutes(app, sup);
  mcpRoutes(app, { bodyLimitBytes: options.bodyLimitBytes, logger: http, ...(options.token === undefined ? {} : { token: options.token }) });
  if (options.token !== undefined) dashboardRoutes(app);
  return app;
}

/** True when something accepts connections on the socket (another daemon): it must not be taken over. */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => (probe.destroy(), resolve(true)));
    probe.once('error', () => resolve(false));
  });
}

/** Listens on a Unix socket readable and writable by this user only (mode 0600). */
export async function listenOnSocket(app: FastifyInstance, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (existsSync(path)) {
    if (await socketInUse(path)) throw new Error(`${path} is in use by another process`);
    unlinkSync(path); // left behind by a daemon that was killed
  }
  const umask = process.umask(0o177); // the socket is created 0600: no window where others may connect
  try {
    await app.listen({ path });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
}

/**
 * The web dashboard: `GET /` (the page) and `GET /dashboard/<asset>` (its script, styles and uPlot).
 *
 * Registered on the TCP listener only, behind its token (the cookie set by `/?token=`). The files are
 * plain HTML, CSS and browser JavaScript copied next to this module by the build; they are read once,
 * when the route is registered, and served from memory. Only the names in `ASSETS` are served, so no
 * request can reach any other file.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const HERE = fileURLToPath(new URL('dashboard/', import.meta.url));
const require = createRequire(import.meta.url);

const HTML = 'text/html; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Asset name → file and content type. */
const ASSETS: Record<string, { file: string; type: string }> = {
  'app.js': { file: join(HERE, 'app.js'), type: JS },
  'util.js': { file: join(HERE, 'util.js'), type: JS },
  'task-detail.js': { file: join(HERE, 'task-detail.js'), type: JS },
  'task-log.js': { file: join(HERE, 'task-log.js'), type: JS },
  'task-parts.js': { file: join(HERE, 'task-parts.js'), type: JS },
  'format.js': { file: join(HERE, 'format.js'), type: JS },
  'charts.js': { file: join(HERE, 'charts.js'), type: JS },
  'tasks.js': { file: join(HERE, 'tasks.js'), type: JS },
  'filters.js': { file: join(HERE, 'filters.js'), type: JS },
  'actions.js': { file: join(HERE, 'actions.js'), type: JS },
  'agents.js': { file: join(HERE, 'agents.js'), type: JS },
  'style.css': { file: join(HERE, 'style.css'), type: CSS },
  'uPlot.iife.min.js': { file: require.resolve('uplot/dist/uPlot.iife.min.js'), type: JS },
  'uPlot.min.css': { file: require.resolve('uplot/dist/uPlot.min.css'), type: CSS },
};

/** Same-origin scripts, requests and styles only; uPlot sets inline styles on its elements. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

/** Registers `GET /` and `GET /dashboard/:asset`. */
export function dashboardRoutes(app: FastifyInstance): void {
  const page = readFileSync(join(HERE, 'index.html'));
  const assets = new Map(Object.entries(ASSETS).map(([name, { file, type }]) => [name, { body: readFileSync(file), type }]));
  app.get('/', async (req, reply) => {
    // Reached with a valid cookie and a `?token=` still in the address: the token leaves the address bar.
    if ((req.query as Record<string, unknown>).token !== undefined) return reply.code(303).header('location', '/').send();
    return reply.headers({ ...HEADERS, 'content-security-policy': CSP }).type(HTML).send(page);
  });
  app.get<{ Params: { asset: string } }>('/dashboard/:asset', async (req, reply) => {
    const asset = assets.get(req.params.asset);
    if (asset === undefined) return reply.callNotFound();
    return reply.headers(HEADERS).type(asset.type).send(asset.body);
  });
}

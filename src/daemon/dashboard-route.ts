/**
 * The web dashboard: `GET /` (the page) and `GET /dashboard/<asset>` (its scripts, styles and uPlot's),
 * served by @fastify/static from the files the build copies next to this module
 * (`dist/daemon/dashboard`) and from uPlot's package.
 *
 * Registered on the TCP listener only, behind its token. Only a bare name ending in `.js` or `.css`
 * is looked up (no path, no HTML page), so that no request reaches any other file.
 */
import { createRequire } from 'node:module';
import { dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { zod } from './schemas.js';

const HERE = fileURLToPath(new URL('dashboard/', import.meta.url));
const UPLOT = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
/** The files of uPlot the page loads. */
const UPLOT_FILES = new Set(['uPlot.iife.min.js', 'uPlot.min.css']);
const ASSET = /^[\w-]+(\.[\w-]+)*\.(js|css)$/;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Registers the static files plugin (without routes of its own) and `GET /`, `GET /dashboard/:asset`. */
export function dashboardRoutes(app: FastifyInstance): void {
  void app.register(fastifyStatic, {
    root: HERE,
    serve: false, // the routes below choose the files
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('cache-control', 'no-store');
      const type = TYPES[extname(path)];
      if (type !== undefined) reply.header('content-type', type);
    },
  });
  app.after(() => {
    const api = zod(app);
    api.get('/', { schema: { hide: true } }, async (req, reply) => {
      // Reached with a valid cookie and a `?token=` still in the address: the token leaves the address bar.
      if ((req.query as Record<string, unknown>).token !== undefined) return reply.code(303).header('location', '/').send();
      return reply.sendFile('index.html');
    });
    api.get('/dashboard/:asset', { schema: { hide: true, params: z.object({ asset: z.string() }) } }, async (req, reply) => {
      const { asset } = req.params;
      if (UPLOT_FILES.has(asset)) return reply.sendFile(asset, UPLOT);
      if (!ASSET.test(asset)) return reply.callNotFound();
      return reply.sendFile(asset);
    });
  });
}

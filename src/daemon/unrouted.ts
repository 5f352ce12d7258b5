/**
 * Requests no route takes: a path the daemon does not serve is a 404 `TROUPE_NOT_FOUND`; a path it
 * serves, asked with another method, a 405 `TROUPE_METHOD_NOT_ALLOWED` whose `Allow` header lists
 * the methods it takes. (Fastify answers both with a 404; its router is not asked by path alone.)
 */
import type { FastifyInstance } from 'fastify';

interface KnownPath {
  pattern: RegExp;
  methods: Set<string>;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A route's URL as a pattern of paths: `:param` is one segment, `*` the rest. */
function patternOf(url: string): RegExp {
  const segments = url.split('/').map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : escape(segment)));
  return new RegExp(`^${segments.join('/')}$`);
}

/** Registers the handler; call before the routes are declared (it learns them as they are). */
export function answerUnrouted(app: FastifyInstance): void {
  const known = new Map<string, KnownPath>();
  app.addHook('onRoute', (route) => {
    const entry = known.get(route.url) ?? { pattern: patternOf(route.url), methods: new Set<string>() };
    for (const method of [route.method].flat()) entry.methods.add(method);
    known.set(route.url, entry);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = new Set<string>();
    for (const { pattern, methods } of known.values()) if (pattern.test(path)) for (const m of methods) allowed.add(m);
    // A route that takes the method and found nothing (an unknown asset) calls this handler too: a 404.
    if (allowed.size === 0 || allowed.has(req.method)) {
      return reply.code(404).send({ error: { code: 'TROUPE_NOT_FOUND', message: `nothing is served at ${req.method} ${path} (GET /v1/openapi.json lists the routes)` } });
    }
    const allow = [...allowed].sort().join(', ');
    return reply
      .code(405)
      .header('allow', allow)
      .send({ error: { code: 'TROUPE_METHOD_NOT_ALLOWED', message: `${path} does not take ${req.method}: it takes ${allow}`, details: { allow: [...allowed].sort() } } });
  });
}

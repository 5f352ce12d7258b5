import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasTaskToken } from './task-scope.js';

/** The dashboard's session cookie: the token itself, HttpOnly and SameSite=Strict. */
export const TOKEN_COOKIE = 'troupe_token';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Compares a presented token with the expected one in constant time (over equal-length digests). */
export function sameToken(presented: string | undefined, token: string): boolean {
  return timingSafeEqual(digest(presented ?? ''), digest(token));
}

/** True when the `Authorization` header carries the token as a bearer token. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const presented = header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length) : '';
  return sameToken(presented, token);
}

/** The value of one cookie in a `Cookie` header; undefined when absent or not valid percent-encoding. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decoded(part.slice(eq + 1).trim());
  }
  return undefined;
}

function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined; // a malformed cookie is no token, not a failure of the daemon
  }
}

/**
 * Only names of the loopback interface are served: a page on another site that rebinds its own name
 * to 127.0.0.1 sends its own Host, and is refused before any token is looked at.
 */
function loopbackHost(host: string | undefined): boolean {
  const name = host?.replace(/:\d+$/, '');
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}

function refuse(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(401).send({ error: { code: 'TROUPE_UNAUTHORIZED', message } });
}

/** The dashboard is opened with `/?token=…`: the token moves into a cookie and out of the address bar. */
function tokenInQuery(req: FastifyRequest): string | undefined {
  if (req.method !== 'GET' || req.routeOptions.url !== '/') return undefined;
  const token = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' ? token : undefined;
}

/**
 * Every request on the TCP listener must carry the token: as `Authorization: Bearer <token>` (the
 * CLI, scripts) or in the dashboard's cookie, which only a same-site page sends (SameSite=Strict).
 */
export function requireToken(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!loopbackHost(req.headers.host)) return refuse(reply, `host ${JSON.stringify(req.headers.host)} is not a loopback name`);
    if (tokenMatches(req.headers.authorization, token)) return;
    // A command task's process: its task token is judged once the route is known (task-scope.ts).
    if (hasTaskToken(req)) return;
    if (sameToken(cookieValue(req.headers.cookie, TOKEN_COOKIE), token)) return;
    const query = tokenInQuery(req);
    if (query !== undefined && sameToken(query, token)) {
      const cookie = `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
      return reply.code(303).header('set-cookie', cookie).header('location', '/').send();
    }
    return refuse(reply, 'a bearer token is required (Authorization: Bearer <token>, or open the dashboard at /?token=<token>)');
  });
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loginPage, wantsPage } from './login.js';
import { sameToken, setSession, TOKEN_COOKIE } from './session.js';
import { hasTaskToken } from './task-scope.js';
import type { TokenHolder } from './token-store.js';

/** Routes open without the token: signing in and out. */
const OPEN = new Set(['/login', '/logout']);

/**
 * Only names of the loopback interface are served: a page on another site that rebinds its own name
 * to 127.0.0.1 sends its own Host, and is refused before any token is looked at.
 */
function loopbackHost(host: string | undefined): boolean {
  const name = host?.replace(/:\d+$/, '');
  return name === '127.0.0.1' || name === 'localhost' || name === '[::1]';
}

type Reason = 'missing' | 'wrong' | 'host';

function refuse(reply: FastifyReply, reason: Reason, message: string): FastifyReply {
  return reply.code(401).send({ error: { code: 'TROUPE_UNAUTHORIZED', message, details: { reason } } });
}

/** The dashboard is opened with `/?token=…`: the token moves into a cookie and out of the address bar. */
function tokenInQuery(req: FastifyRequest): string | undefined {
  if (req.method !== 'GET' || req.routeOptions.url !== '/') return undefined;
  const token = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' ? token : undefined;
}

/** What a request presented that is not the token, named for the 401's message. */
function wrongly(header: string | undefined, cookie: string | undefined, query: string | undefined): string | undefined {
  if (header !== undefined) return header.startsWith('Bearer ') ? 'the bearer token' : 'the Authorization header (not "Bearer <token>")';
  if (cookie !== undefined) return `the ${TOKEN_COOKIE} cookie`;
  return query === undefined ? undefined : 'the token in ?token=';
}

/**
 * Every request on the TCP listener must carry the token: as `Authorization: Bearer <token>` (the
 * CLI, scripts) or in the dashboard's cookie, which only a same-site page sends (SameSite=Strict).
 * The token is read from `tokens` at each request: a rotation refuses the old one at once. A
 * request without it gets a 401 that says whether it was missing or wrong (`details.reason`); a
 * browser asking for a page gets the login page instead (login.ts).
 */
export function requireToken(app: FastifyInstance, tokens: TokenHolder): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!loopbackHost(req.headers.host)) return refuse(reply, 'host', `host ${JSON.stringify(req.headers.host)} is not a loopback name (use 127.0.0.1 or localhost)`);
    if (OPEN.has(req.routeOptions.url ?? '')) return;
    const token = tokens.current();
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ') === true && sameToken(header.slice('Bearer '.length), token)) return;
    // A command task's process: its task token is judged once the route is known (task-scope.ts).
    if (hasTaskToken(req)) return;
    const cookie = req.cookies[TOKEN_COOKIE];
    if (cookie !== undefined && sameToken(cookie, token)) return;
    const query = tokenInQuery(req);
    if (query !== undefined && sameToken(query, token)) return setSession(reply, token).code(303).header('location', '/').send();
    const wrong = wrongly(header, cookie, query);
    if (wantsPage(req)) return loginPage(reply, 401, wrong === undefined ? undefined : `${wrong[0]!.toUpperCase()}${wrong.slice(1)} is not this daemon's token: sign in again.`);
    if (wrong === undefined) return refuse(reply, 'missing', 'no token: send Authorization: Bearer <token> (troupe token show prints it), or sign in to the dashboard at /login');
    return refuse(reply, 'wrong', `${wrong} is not this daemon's token (was it rotated? troupe token show prints the current one)`);
  });
}

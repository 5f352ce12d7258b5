/**
 * Signing in to the dashboard: a page request without a valid token gets the login page
 * (`dashboard/login.html`, no script) instead of a JSON 401; `POST /login` with the token sets the
 * session cookie and redirects to `/`, a wrong token shows the page again with the error;
 * `POST /logout` clears the cookie. API requests keep their JSON 401 (auth.ts).
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { clearSession, sameToken, setSession } from './session.js';
import { zod } from './schemas.js';
import type { TokenHolder } from './token-store.js';

const PAGE = readFileSync(new URL('dashboard/login.html', import.meta.url), 'utf8');
/** A form holds one token: nothing larger is read. */
const FORM_LIMIT_BYTES = 4096;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** True for a browser's request for a page: `GET /`, or a GET that asks for HTML first. */
export function wantsPage(req: FastifyRequest): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (req.url === '/' || req.url.startsWith('/?')) return true;
  return (req.headers.accept ?? '').split(',')[0]?.trim().startsWith('text/html') === true;
}

/** Answers with the login page, and the reason for it when there is one. */
export function loginPage(reply: FastifyReply, status: number, error?: string): FastifyReply {
  const notice = error === undefined ? '' : `<p class="error" role="alert" data-testid="login-error">${escapeHtml(error)}</p>`;
  return reply.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(PAGE.replace('<!--error-->', notice));
}

const loginBody = z.object({ token: z.string().describe('the daemon token') });

/** Registers `GET /login`, `POST /login` (a form or JSON `{ token }`) and `POST /logout`; all open without the token. */
export function loginRoutes(app: FastifyInstance, tokens: TokenHolder): void {
  app.get('/login', { schema: { hide: true } }, async (_req, reply) => loginPage(reply, 200));
  // The form's content type is taken by these routes only (the dashboard's sign-out button posts a form too): every other body is JSON.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT_BYTES }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    scope.post('/logout', { schema: { hide: true } }, async (_req, reply) => clearSession(reply).code(303).header('location', '/login').send());
    zod(scope).post('/login', { schema: { hide: true, body: loginBody } }, async (req, reply) => {
      if (!sameToken(req.body.token.trim(), tokens.current())) {
        return loginPage(reply, 401, req.body.token.trim() === '' ? 'Enter the token.' : "That is not this daemon's token (was it rotated? troupe token show prints the current one).");
      }
      return setSession(reply, tokens.current()).code(303).header('location', '/').send();
    });
  });
}

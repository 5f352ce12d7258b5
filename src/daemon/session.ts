/** The token compared in constant time, and the dashboard's session cookie that carries it. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/** The dashboard's session cookie: the token itself, HttpOnly and SameSite=Strict. */
export const TOKEN_COOKIE = 'troupe_token';
/** How long a browser keeps the cookie (across its restarts): 30 days, or until the token is rotated. */
export const SESSION_MAX_AGE_S = 30 * 24 * 60 * 60;

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Compares a presented token with the expected one in constant time (over equal-length digests). */
export function sameToken(presented: string | undefined, token: string): boolean {
  return timingSafeEqual(digest(presented ?? ''), digest(token));
}

/** Sets the session cookie: scripts cannot read it (HttpOnly), other sites cannot send it (SameSite=Strict). */
export function setSession(reply: FastifyReply, token: string): FastifyReply {
  return reply.setCookie(TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', maxAge: SESSION_MAX_AGE_S });
}

/** Clears the session cookie (signing out). */
export function clearSession(reply: FastifyReply): FastifyReply {
  return reply.clearCookie(TOKEN_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/' });
}

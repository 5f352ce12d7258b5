/**
 * The TCP listener's token, on the Unix socket only (its owner's: whoever can call it may read the
 * token anyway, from the token file beside it): `GET /v1/token` says where the dashboard is and
 * how to sign in to it; `POST /v1/token/rotate` makes a new token, writes it to the token file and
 * takes it at once, in the same process that checks it, so that the old one is refused from the
 * next request on (no file watching, no window). `troupe token` calls them (token-cli.ts).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { answers, zod } from './schemas.js';
import type { TokenHolder } from './token-store.js';

export interface TokenAdmin {
  tokens: TokenHolder;
  /** `http://127.0.0.1:<port>` once the TCP listener listens. */
  url(): string | undefined;
}

const tokenAnswer = z.object({
  url: z.string().describe('the TCP listener'),
  dashboard: z.string().describe('the dashboard with the token: opening it signs in'),
  token: z.string(),
  file: z.string().nullable().describe('where the token is kept; null when the configuration fixes it'),
  rotatable: z.boolean(),
});

function describe(admin: TokenAdmin): z.output<typeof tokenAnswer> {
  const url = admin.url() ?? '';
  const token = admin.tokens.current();
  return { url, dashboard: `${url}/?token=${encodeURIComponent(token)}`, token, file: admin.tokens.file ?? null, rotatable: admin.tokens.file !== undefined };
}

export function tokenRoutes(app: FastifyInstance, admin: TokenAdmin): void {
  const api = zod(app);
  api.get('/v1/token', { schema: { response: answers({ 200: tokenAnswer }) } }, async () => describe(admin));
  api.post('/v1/token/rotate', { schema: { response: answers({ 200: tokenAnswer }) } }, async () => {
    admin.tokens.rotate();
    return describe(admin);
  });
}

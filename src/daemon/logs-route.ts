/**
 * `GET /v1/tasks/:id/logs`: a task's kept output lines (`sup.logs()`) as newline-delimited JSON,
 * one `{ attempt, stream, at, line }` per line. `attempt=N` keeps one attempt's lines; `raw=1` keeps
 * the escapes of terminal (`tty`) lines; `follow=1` keeps the response open and writes lines as
 * they come until the task ends. An unknown id is a
 * 404 `TROUPE_UNKNOWN_TASK`, a bad parameter a 400 naming it. Writes wait for the socket to drain
 * (a slow client slows only its own reading of the files); a client that disconnects stops its stream.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Supervisor } from '../index.js';
import { answers, idParams, streamed, zod } from './schemas.js';
import { streamResponses } from './stream-out.js';

const querySchema = z.strictObject({
  follow: z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true').optional(),
  attempt: z.coerce.number().int().min(1).optional(),
  raw: z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true').optional(),
});

/** Registers the route; the server's close ends its open streams. */
export function logsRoutes(app: FastifyInstance, sup: Supervisor): void {
  const pipe = streamResponses(app);
  const schema = { params: idParams, querystring: querySchema, response: answers(streamed('application/x-ndjson', 'one { attempt, stream, at, line } per line')) };
  zod(app).get('/v1/tasks/:id/logs', { schema }, async (req, reply) => {
    const query = req.query;
    const abort = new AbortController();
    const lines = sup.logs(req.params.id, { ...query, signal: abort.signal })[Symbol.asyncIterator]();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    await pipe(req, res, abort, lines, (line) => JSON.stringify(line) + '\n', 'reading task logs failed');
  });
}

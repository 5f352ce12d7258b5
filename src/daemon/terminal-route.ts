/**
 * The live terminal of a running `tty` task (`sup.terminal()`), for `troupe attach`:
 * `GET /v1/tasks/:id/terminal` streams what the process writes to it, as bytes (a replay of its
 * recent output first, so that a client can draw the screen, then live) until the process exits;
 * `POST .../terminal/input` (`{ data }`) types into it; `POST .../terminal/resize` (`{ cols, rows }`)
 * sizes it. 404 TROUPE_UNKNOWN_TASK, 409 TROUPE_NO_TERMINAL for a task without one now.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Supervisor } from '../index.js';
import { answers, idParams, streamed, zod } from './schemas.js';
import { streamResponses } from './stream-out.js';

const inputSchema = z.strictObject({ data: z.string() });
const sizeSchema = z.strictObject({ cols: z.int(), rows: z.int() });

/** Registers the routes; the server's close ends the open streams. */
export function terminalRoutes(app: FastifyInstance, sup: Supervisor): void {
  const pipe = streamResponses(app);
  const api = zod(app);
  const output = answers(streamed('application/octet-stream', 'the bytes the process writes to its terminal, a replay of its recent output first'));
  api.get('/v1/tasks/:id/terminal', { schema: { params: idParams, response: output } }, async (req, reply) => {
    const terminal = sup.terminal(req.params.id);
    const abort = new AbortController();
    const chunks = terminal.output({ signal: abort.signal })[Symbol.asyncIterator]();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'cache-control': 'no-cache',
      'x-troupe-terminal-size': `${terminal.cols}x${terminal.rows}`,
      'x-troupe-attempt': String(terminal.attempt),
    });
    res.flushHeaders(); // the client knows it is attached before the process writes anything
    await pipe(req, res, abort, chunks, (chunk) => chunk, 'streaming a task terminal failed');
  });
  const written = answers({ 200: z.object({ id: z.string(), written: z.number() }) });
  api.post('/v1/tasks/:id/terminal/input', { schema: { params: idParams, body: inputSchema, response: written } }, async (req) => {
    const { data } = req.body;
    sup.terminal(req.params.id).write(data);
    return { id: req.params.id, written: data.length };
  });
  const sized = answers({ 200: z.object({ id: z.string(), cols: z.number(), rows: z.number() }) });
  api.post('/v1/tasks/:id/terminal/resize', { schema: { params: idParams, body: sizeSchema, response: sized } }, async (req) => {
    const { cols, rows } = req.body;
    const terminal = sup.terminal(req.params.id);
    terminal.resize(cols, rows);
    return { id: req.params.id, cols: terminal.cols, rows: terminal.rows };
  });
}

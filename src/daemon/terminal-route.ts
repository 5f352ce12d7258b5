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
import { parseWith } from '../internal.js';
import { streamResponses } from './stream-out.js';

const inputSchema = z.strictObject({ data: z.string() });
const sizeSchema = z.strictObject({ cols: z.int(), rows: z.int() });

type Params = { id: string };

/** Registers the routes; the server's close ends the open streams. */
export function terminalRoutes(app: FastifyInstance, sup: Supervisor): void {
  const pipe = streamResponses(app);
  app.get<{ Params: Params }>('/v1/tasks/:id/terminal', async (req, reply) => {
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
  app.post<{ Params: Params }>('/v1/tasks/:id/terminal/input', async (req) => {
    const { data } = parseWith(inputSchema, req.body, 'TROUPE_BAD_REQUEST', 'body');
    sup.terminal(req.params.id).write(data);
    return { id: req.params.id, written: data.length };
  });
  app.post<{ Params: Params }>('/v1/tasks/:id/terminal/resize', async (req) => {
    const { cols, rows } = parseWith(sizeSchema, req.body, 'TROUPE_BAD_REQUEST', 'body');
    const terminal = sup.terminal(req.params.id);
    terminal.resize(cols, rows);
    return { id: req.params.id, cols: terminal.cols, rows: terminal.rows };
  });
}

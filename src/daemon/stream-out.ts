// The daemon's streamed responses (task logs, terminals) in one place: writes wait for the socket to
// drain (a slow client slows only its own stream), and a stream stops when its client goes or the server closes.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Resolves once `res` can take more (or is gone). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes `items`, each `encode`d, to `res` (its head written already) until they end, the client
 * disconnects or the server closes; then aborts `abort` (which ends the source) and ends `res`.
 * A source that fails is logged as `what` on the request's logger.
 */
export type Pipe = <T>(req: FastifyRequest, res: ServerResponse, abort: AbortController, items: AsyncIterator<T>, encode: (item: T) => string | Uint8Array, what: string) => Promise<void>;

/** A `Pipe` for the routes of one plugin; the server's close ends its open streams. */
export function streamResponses(app: FastifyInstance): Pipe {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const stop of [...open]) stop();
  });
  return async (req, res, abort, items, encode, what) => {
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      abort.abort();
      if (!res.writableEnded) res.end();
    };
    open.add(stop);
    res.on('close', stop);
    try {
      for (let next = await items.next(); !next.done && !stopped; next = await items.next()) {
        if (!res.write(encode(next.value))) await drained(res);
      }
    } catch (err) {
      req.log.warn({ err }, what);
    } finally {
      open.delete(stop);
      stop();
    }
  };
}

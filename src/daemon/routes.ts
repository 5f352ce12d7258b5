import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Supervisor } from '../index.js';
import { TroupeError } from '../index.js';
import { parseWith } from '../internal.js';

/** Longest a `GET /v1/tasks/:id/result` may wait for the outcome. */
const MAX_WAIT_MS = 60_000;

const waitSchema = z.strictObject({ waitMs: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(0) });
/** A query flag: `?newest`, `?newest=1` or `=true` is on; `=0` or `=false` is off. */
const flag = z.enum(['', '1', 'true', '0', 'false']).transform((v) => v === '' || v === '1' || v === 'true');
/** A time in a query: epoch milliseconds or an ISO 8601 date. */
const time = z.union([z.coerce.number().int().min(0), z.iso.datetime({ offset: true }).transform((v) => Date.parse(v))]);
const list = (values: string) => values.split(',').filter((v) => v !== '');
export const filterQuery = {
  agent: z.string().optional(),
  group: z.string().optional(),
  since: time.optional(),
  until: time.optional(),
  search: z.string().optional(),
};
const listSchema = z.strictObject({
  ...filterQuery,
  state: z.string().transform(list).optional(),
  newest: flag.optional(),
  limit: z.coerce.number().int().optional(),
  after: z.string().optional(),
  include: z.string().transform(list).optional(),
});
const getSchema = z.strictObject({ include: z.string().transform(list).optional() });
const deadSchema = z.strictObject({ agent: z.string().optional(), limit: z.coerce.number().int().optional() });
const redriveSchema = z.union([
  z.strictObject({ ids: z.union([z.string(), z.array(z.string())]), input: z.unknown().optional() }),
  z.strictObject({ all: z.literal(true), agent: z.string().optional(), group: z.string().optional(), search: z.string().optional(), since: z.number().optional(), until: z.number().optional() }),
]);
const breakerSchema = z.strictObject({ state: z.enum(['open', 'closed']) });
const cancelSchema = z.strictObject({ reason: z.string().optional() });

type Params = { id: string };

/** The task's outcome within `waitMs`: settled (`done: true`) or still under way. */
async function waitResult(sup: Supervisor, id: string, waitMs: number): Promise<Record<string, unknown>> {
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(), waitMs);
  try {
    const result = await sup.result(id, { signal: giveUp.signal });
    return { id, done: true, state: 'succeeded', result };
  } catch (err) {
    if (giveUp.signal.aborted) return { id, done: false, state: sup.get(id)?.state };
    if ((err as TroupeError).code === 'TROUPE_UNKNOWN_TASK') throw err;
    return { id, done: true, state: sup.get(id)?.state, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** The task API: submit, inspect, list, wait, cancel, dead letters, breakers, snapshot. */
export function taskRoutes(app: FastifyInstance, sup: Supervisor): void {
  app.post('/v1/tasks', async (req, reply) => {
    const body = req.body as unknown;
    if (Array.isArray(body)) {
      // A batch is validated whole before any of it is accepted.
      const ids = await sup.submitBatch(body);
      return reply.code(201).send({ ids });
    }
    return reply.code(201).send({ id: await sup.submit(body as never) });
  });
  app.get('/v1/tasks', async (req) => ({ tasks: await sup.list(parseWith(listSchema, req.query, 'TROUPE_BAD_REQUEST', 'query') as never) }));
  app.get<{ Params: Params }>('/v1/tasks/:id', async (req) => {
    const task = sup.get(req.params.id, parseWith(getSchema, req.query, 'TROUPE_BAD_REQUEST', 'query') as never);
    if (task === undefined) throw new TroupeError('TROUPE_UNKNOWN_TASK', `no task has the id ${JSON.stringify(req.params.id)}`);
    return task;
  });
  app.get<{ Params: Params }>('/v1/tasks/:id/result', async (req) => {
    const { waitMs } = parseWith(waitSchema, req.query, 'TROUPE_BAD_REQUEST', 'query');
    return waitResult(sup, req.params.id, waitMs);
  });
  app.get<{ Params: Params }>('/v1/tasks/:id/tree', async (req) => {
    const tree = sup.tree(req.params.id);
    if (tree === undefined) throw new TroupeError('TROUPE_UNKNOWN_TASK', `no task has the id ${JSON.stringify(req.params.id)}`);
    return tree;
  });
  app.post<{ Params: Params }>('/v1/tasks/:id/cancel', async (req) => {
    const { reason } = parseWith(cancelSchema, req.body ?? {}, 'TROUPE_BAD_REQUEST', 'body');
    return { id: req.params.id, cancelled: await sup.cancel(req.params.id, reason) };
  });
  app.get('/v1/dead-letters', async (req) => ({ tasks: await sup.deadLetters(parseWith(deadSchema, req.query, 'TROUPE_BAD_REQUEST', 'query')) }));
  app.post('/v1/dead-letters/redrive', async (req) => {
    const body = parseWith(redriveSchema, req.body, 'TROUPE_BAD_REQUEST', 'body');
    if ('all' in body) {
      const { all: _all, ...filter } = body;
      return { ids: await sup.redriveAll(filter) };
    }
    return { ids: await sup.redrive(body.ids, 'input' in body ? { input: body.input } : {}) };
  });
  app.get('/v1/breakers', async () => ({ breakers: sup.breakers() }));
  app.get('/v1/pipelines', async () => ({ pipelines: sup.pipelines() }));
  app.put<{ Params: { key: string } }>('/v1/breakers/:key', async (req) => {
    const { state } = parseWith(breakerSchema, req.body, 'TROUPE_BAD_REQUEST', 'body');
    return { key: req.params.key, breaker: await sup.setBreaker(req.params.key, state) };
  });
  app.get('/v1/snapshot', async () => sup.snapshot());
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { BreakerInfo, SubmitRequest, Supervisor } from '../index.js';
import { TroupeError } from '../index.js';
import { answers, breakerInfo, checkedByLibrary, nameMap, idParams, open, submitRequest, taskInfo, taskList, taskState, zod } from './schemas.js';

/** Longest a `GET /v1/tasks/:id/result` may wait for the outcome. */
const MAX_WAIT_MS = 60_000;

const waitQuery = z.strictObject({ waitMs: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(0).describe('how long to wait for the outcome, at most 60000 ms') });
/** A query flag: `?newest`, `?newest=1` or `=true` is on; `=0` or `=false` is off. */
const flag = z.enum(['', '1', 'true', '0', 'false']).transform((v) => v === '' || v === '1' || v === 'true');
/** A time in a query: epoch milliseconds or an ISO 8601 date. */
const time = z.union([z.coerce.number().int().min(0), z.iso.datetime({ offset: true }).transform((v) => Date.parse(v))]).describe('epoch ms or an ISO 8601 date');
/** A comma-separated list in a query (`state=queued,running`), each item checked by `item`. */
const listOf = <T extends z.ZodType<unknown, string>>(item: T) => z.string().transform((v) => v.split(',').filter((x) => x !== '')).pipe(z.array(item));
const include = listOf(z.enum(['input'])).describe('input: add each task\'s input');
export const filterQuery = {
  agent: z.string().optional(),
  group: z.string().optional(),
  since: time.optional(),
  until: time.optional(),
  search: z.string().optional().describe('case-insensitive text of the id, key, names, input or error'),
};
const listQuery = z.strictObject({
  ...filterQuery,
  state: listOf(taskState).optional().describe('one state or several, comma-separated'),
  newest: flag.optional().describe('newest first'),
  limit: z.coerce.number().int().optional(),
  after: z.string().optional().describe('the last id of the previous page'),
  include: include.optional(),
});
const getQuery = z.strictObject({ include: include.optional() });
const deadQuery = z.strictObject({ agent: z.string().optional(), limit: z.coerce.number().int().optional() });
const redriveBody = z.union([
  z.strictObject({ ids: z.union([z.string(), z.array(z.string())]), input: z.unknown().optional() }),
  z.strictObject({ all: z.literal(true), agent: z.string().optional(), group: z.string().optional(), search: z.string().optional(), since: z.number().optional(), until: z.number().optional() }),
]);
const breakerBody = z.strictObject({ state: z.enum(['open', 'closed']) });
const cancelBody = z.strictObject({ reason: z.string().optional() }).nullable().describe('optional');
const submitBody = checkedByLibrary(z.union([submitRequest, z.array(submitRequest).describe('a batch: validated whole before any is accepted')]));

const waitAnswer = open({ id: z.string(), done: z.boolean(), state: taskState.optional(), result: z.unknown().optional(), error: z.string().optional() });
const taskTree = open({ task: taskInfo, children: z.array(open({ task: taskInfo })).describe('the same shape, one level down'), truncated: z.number().optional() });

/** The task's outcome within `waitMs`: settled (`done: true`) or still under way. */
async function waitResult(sup: Supervisor, id: string, waitMs: number): Promise<z.output<typeof waitAnswer>> {
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

function unknownTask(id: string): TroupeError {
  return new TroupeError('TROUPE_UNKNOWN_TASK', `no task has the id ${JSON.stringify(id)}`);
}

/** The task API: submit, inspect, list, wait, cancel, dead letters, breakers, snapshot. */
export function taskRoutes(app: FastifyInstance, sup: Supervisor): void {
  const api = zod(app);
  const ids = z.object({ ids: z.array(z.string()) });
  api.post('/v1/tasks', { schema: { body: submitBody, response: answers({ 201: z.union([z.object({ id: z.string() }), ids]) }) } }, async (req, reply) => {
    const body: unknown = req.body;
    // A batch is validated whole before any of it is accepted.
    if (Array.isArray(body)) return reply.code(201).send({ ids: await sup.submitBatch(body as SubmitRequest[]) });
    return reply.code(201).send({ id: await sup.submit(body as SubmitRequest) });
  });
  api.get('/v1/tasks', { schema: { querystring: listQuery, response: answers({ 200: taskList }) } }, async (req) => ({ tasks: await sup.list(req.query) }));
  api.get('/v1/tasks/:id', { schema: { params: idParams, querystring: getQuery, response: answers({ 200: taskInfo }) } }, async (req) => sup.get(req.params.id, req.query) ?? Promise.reject(unknownTask(req.params.id)));
  api.get('/v1/tasks/:id/result', { schema: { params: idParams, querystring: waitQuery, response: answers({ 200: waitAnswer }) } }, async (req) => waitResult(sup, req.params.id, req.query.waitMs));
  api.get('/v1/tasks/:id/tree', { schema: { params: idParams, response: answers({ 200: taskTree }) } }, async (req) => sup.tree(req.params.id) ?? Promise.reject(unknownTask(req.params.id)));
  api.post('/v1/tasks/:id/cancel', { schema: { params: idParams, body: cancelBody, response: answers({ 200: z.object({ id: z.string(), cancelled: z.boolean() }) }) } }, async (req) => ({
    id: req.params.id,
    cancelled: await sup.cancel(req.params.id, req.body?.reason),
  }));
  api.get('/v1/dead-letters', { schema: { querystring: deadQuery, response: answers({ 200: taskList }) } }, async (req) => ({ tasks: await sup.deadLetters(req.query) }));
  api.post('/v1/dead-letters/redrive', { schema: { body: redriveBody, response: answers({ 200: ids }) } }, async (req) => {
    const body = req.body;
    if ('all' in body) {
      const { all: _all, ...filter } = body;
      return { ids: await sup.redriveAll(filter) };
    }
    return { ids: await sup.redrive(body.ids, 'input' in body ? { input: body.input } : {}) };
  });
  api.get('/v1/breakers', { schema: { response: answers({ 200: z.object({ breakers: nameMap<BreakerInfo>(z.toJSONSchema(breakerInfo, { io: 'output' }), 'breakers by key (agent:<name>, resource:<name>)') }) }) } }, async () => ({ breakers: sup.breakers() }));
  api.get('/v1/pipelines', { schema: { response: answers({ 200: z.object({ pipelines: z.array(open({ from: z.unknown().optional(), to: z.unknown().optional() })).readonly() }) }) } }, async () => ({ pipelines: sup.pipelines() }));
  api.put('/v1/breakers/:key', { schema: { params: z.object({ key: z.string().describe('agent:<name> or resource:<name>') }), body: breakerBody, response: answers({ 200: z.object({ key: z.string(), breaker: breakerInfo }) }) } }, async (req) => ({
    key: req.params.key,
    breaker: await sup.setBreaker(req.params.key, req.body.state),
  }));
  api.get('/v1/snapshot', { schema: { response: answers({ 200: open({ counters: z.unknown().optional() }).describe('snapshot(): counters, queue, pool, latency, breakers, ...') }) } }, async () => sup.snapshot());
}

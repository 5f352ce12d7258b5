import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { BreakerInfo, SubmitRequest, Supervisor } from '../index.js';
import { TroupeError } from '../index.js';
import { answers, breakerInfo, checkedByLibrary, nameMap, idParams, open, submitRequest, taskInfo, taskList, taskState, zod } from './schemas.js';

/** Longest a `GET /v1/tasks/:id/result` may wait for the outcome. */
const MAX_WAIT_MS = 60_000;

const waitQuery = z.strictObject({ waitMs: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(0).describe('how long to wait for the outcome, at most 60000 ms') });
const listQuery = z.strictObject({
  state: taskState.optional(),
  agent: z.string().optional(),
  group: z.string().optional(),
  limit: z.coerce.number().int().optional(),
  after: z.string().optional().describe('the last id of the previous page'),
});
const deadQuery = z.strictObject({ agent: z.string().optional(), limit: z.coerce.number().int().optional() });
const redriveBody = z.strictObject({ ids: z.union([z.string(), z.array(z.string())]), input: z.unknown().optional() });
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
  api.get('/v1/tasks/:id', { schema: { params: idParams, response: answers({ 200: taskInfo }) } }, async (req) => sup.get(req.params.id) ?? Promise.reject(unknownTask(req.params.id)));
  api.get('/v1/tasks/:id/result', { schema: { params: idParams, querystring: waitQuery, response: answers({ 200: waitAnswer }) } }, async (req) => waitResult(sup, req.params.id, req.query.waitMs));
  api.get('/v1/tasks/:id/tree', { schema: { params: idParams, response: answers({ 200: taskTree }) } }, async (req) => sup.tree(req.params.id) ?? Promise.reject(unknownTask(req.params.id)));
  api.post('/v1/tasks/:id/cancel', { schema: { params: idParams, body: cancelBody, response: answers({ 200: z.object({ id: z.string(), cancelled: z.boolean() }) }) } }, async (req) => ({
    id: req.params.id,
    cancelled: await sup.cancel(req.params.id, req.body?.reason),
  }));
  api.get('/v1/dead-letters', { schema: { querystring: deadQuery, response: answers({ 200: taskList }) } }, async (req) => ({ tasks: await sup.deadLetters(req.query) }));
  api.post('/v1/dead-letters/redrive', { schema: { body: redriveBody, response: answers({ 200: ids }) } }, async (req) => ({
    ids: await sup.redrive(req.body.ids, 'input' in req.body ? { input: req.body.input } : {}),
  }));
  api.get('/v1/breakers', { schema: { response: answers({ 200: z.object({ breakers: nameMap<BreakerInfo>(z.toJSONSchema(breakerInfo, { io: 'output' }), 'breakers by key (agent:<name>, resource:<name>)') }) }) } }, async () => ({ breakers: sup.breakers() }));
  api.get('/v1/pipelines', { schema: { response: answers({ 200: z.object({ pipelines: z.array(open({ from: z.unknown().optional(), to: z.unknown().optional() })).readonly() }) }) } }, async () => ({ pipelines: sup.pipelines() }));
  api.put('/v1/breakers/:key', { schema: { params: z.object({ key: z.string().describe('agent:<name> or resource:<name>') }), body: breakerBody, response: answers({ 200: z.object({ key: z.string(), breaker: breakerInfo }) }) } }, async (req) => ({
    key: req.params.key,
    breaker: await sup.setBreaker(req.params.key, req.body.state),
  }));
  api.get('/v1/snapshot', { schema: { response: answers({ 200: open({ counters: z.unknown().optional() }).describe('snapshot(): counters, queue, pool, latency, breakers, ...') }) } }, async () => sup.snapshot());
}

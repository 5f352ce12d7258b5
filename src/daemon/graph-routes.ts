import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { planImports } from '../index.js';
import type { DistributeOptions, PlanOptions, Supervisor, SubmitRequest } from '../index.js';
import { renameField } from '../internal.js';
import { checkPlanRoot } from './plan-roots.js';
import { answers, nameMap, open, submitRequest, zod } from './schemas.js';

// The tasks are checked by the library (TROUPE_INVALID_TASK names `tasks[i].<field>`).
const tasks = z.array(z.unknown()).describe('tasks as POST /v1/tasks takes them, each with a `name` (graphs)');
const graphBody = z.strictObject({ tasks });
// The options are checked by distribute() (TROUPE_INVALID_OPTIONS names them).
const distributeBody = open({ tasks, managers: z.array(z.string()).optional(), strategy: z.string().optional(), hashField: z.string().optional() });
// The plan's own options are checked by planImports (TROUPE_INVALID_PLAN names them).
const planBody = open({ dir: z.string(), agent: z.string().optional(), typeImports: z.boolean().optional(), tsconfig: z.string().optional() });
const planAnswer = open({ tasks: z.array(submitRequest) }).describe('the plan: its tasks are what POST /v1/graphs takes');

/**
 * Task graphs and distributions: `POST /v1/graphs` submits one whole; `POST /v1/distribute` spreads
 * tasks over manager tasks; `POST /v1/plan` plans one from a tree's imports,
 * only under `planRoots` when they are given (the TCP listener), anywhere when not (the socket).
 */
export function graphRoutes(app: FastifyInstance, sup: Supervisor, planRoots?: readonly string[]): void {
  const api = zod(app);
  api.post('/v1/graphs', { schema: { body: graphBody, response: answers({ 201: z.object({ ids: nameMap<string>({ type: 'string' }, 'ids by task name') }) }) } }, async (req, reply) => {
    return reply.code(201).send({ ids: await sup.submitGraph(req.body.tasks as Parameters<Supervisor['submitGraph']>[0]) });
  });
  api.post('/v1/distribute', { schema: { body: distributeBody, response: answers({ 201: open({ ids: z.array(z.string()) }) }) } }, async (req, reply) => {
    const { tasks: list, ...options } = req.body;
    try {
      return reply.code(201).send(await sup.distribute(list as SubmitRequest[], options as unknown as DistributeOptions));
    } catch (err) {
      throw renameField(err, 'options', 'body'); // the options are the body's other fields
    }
  });
  api.post('/v1/plan', { schema: { body: planBody, response: answers({ 200: planAnswer }) } }, async (req) => {
    const { dir, ...options } = req.body;
    if (planRoots !== undefined) checkPlanRoot(dir, planRoots);
    try {
      return await planImports(dir, options as PlanOptions);
    } catch (err) {
      throw renameField(err, 'options', 'body'); // the options are the body's other fields
    }
  });
}

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { planImports } from '../index.js';
import type { Supervisor } from '../index.js';
import { renameField } from '../internal.js';
import { parseWith } from '../internal.js';
import { checkPlanRoot } from './plan-roots.js';

const graphSchema = z.strictObject({ tasks: z.array(z.unknown()) });
// The options are checked by distribute() (TROUPE_INVALID_OPTIONS names them).
const distributeSchema = z.looseObject({ tasks: z.array(z.unknown()) });
// The plan's own options are checked by planImports (TROUPE_INVALID_PLAN names them).
const planSchema = z.looseObject({ dir: z.string() });

/**
 * Task graphs and distributions: `POST /v1/graphs` submits one whole; `POST /v1/distribute` spreads
 * tasks over manager tasks; `POST /v1/plan` plans one from a tree's imports,
 * only under `planRoots` when they are given (the TCP listener), anywhere when not (the socket).
 */
export function graphRoutes(app: FastifyInstance, sup: Supervisor, planRoots?: readonly string[]): void {
  app.post('/v1/graphs', async (req, reply) => {
    const { tasks } = parseWith(graphSchema, req.body, 'TROUPE_BAD_REQUEST', 'body');
    return reply.code(201).send({ ids: await sup.submitGraph(tasks as never) });
  });
  app.post('/v1/distribute', async (req, reply) => {
    const { tasks, ...options } = parseWith(distributeSchema, req.body, 'TROUPE_BAD_REQUEST', 'body');
    try {
      return reply.code(201).send(await sup.distribute(tasks as never, options as never));
    } catch (err) {
      throw renameField(err, 'options', 'body'); // the options are the body's other fields
    }
  });
  app.post('/v1/plan', async (req) => {
    const { dir, ...options } = parseWith(planSchema, req.body, 'TROUPE_BAD_REQUEST', 'body');
    if (planRoots !== undefined) checkPlanRoot(dir, planRoots);
    try {
      return await planImports(dir, options as never);
    } catch (err) {
      throw renameField(err, 'options', 'body'); // the options are the body's other fields
    }
  });
}

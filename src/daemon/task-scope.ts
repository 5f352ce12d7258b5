// Requests from a command task's process (TROUPE_TASK_TOKEN): its own subtree, nothing else.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Supervisor } from '../index.js';
import { TASK_TOKEN_HEADER } from './client.js';

/** Routes a task token opens, each with how its target is checked. */
const SUBMISSIONS = new Set(['POST /v1/tasks', 'POST /v1/graphs', 'POST /v1/distribute']);
const ON_A_TASK = new Set(['GET /v1/tasks/:id', 'GET /v1/tasks/:id/result', 'GET /v1/tasks/:id/tree', 'GET /v1/tasks/:id/logs', 'POST /v1/tasks/:id/cancel']);

function refuse(reply: FastifyReply, status: 401 | 403, message: string): FastifyReply {
  return reply.code(status).send({ error: { code: status === 401 ? 'TROUPE_UNAUTHORIZED' : 'TROUPE_FORBIDDEN', message } });
}

/** True when the request carries a task token (the TCP listener then lets this hook judge it). */
export function hasTaskToken(req: FastifyRequest): boolean {
  return typeof req.headers[TASK_TOKEN_HEADER] === 'string';
}

/**
 * A request with a task token acts for that running task: what it submits becomes the task's
 * children (a `parentId` it names must be in the task's subtree), and it may read, wait for and
 * cancel tasks of its subtree only. Anything else is refused with TROUPE_FORBIDDEN; a token that is
 * forged, or whose task no longer runs, with TROUPE_UNAUTHORIZED.
 */
export function taskScope(app: FastifyInstance, sup: Supervisor): void {
  app.addHook('preHandler', async (req, reply) => {
    const token = req.headers[TASK_TOKEN_HEADER];
    if (typeof token !== 'string') return;
    const scope = sup.taskOfToken(token);
    if (scope === undefined) return refuse(reply, 401, `the ${TASK_TOKEN_HEADER} is not the token of a running task`);
    const route = `${req.method} ${req.routeOptions.url ?? ''}`;
    if (SUBMISSIONS.has(route)) return adopt(req, reply, sup, scope);
    if (ON_A_TASK.has(route)) {
      const id = (req.params as { id: string }).id;
      if (sup.inSubtree(scope, id) || sup.get(id) === undefined) return; // an unknown id gets its own 404
      return refuse(reply, 403, `task ${scope} may act only on its own subtree; ${id} is not in it`);
    }
    return refuse(reply, 403, `a task token opens task submission and the tasks of its subtree only, not ${route}`);
  });
}

/** Each task of the body becomes a child of the scope's task, or of a task under it that it names. */
function adopt(req: FastifyRequest, reply: FastifyReply, sup: Supervisor, scope: string): FastifyReply | undefined {
  const body = req.body as unknown;
  const tasks = Array.isArray(body) ? body : body !== null && typeof body === 'object' && Array.isArray((body as { tasks?: unknown }).tasks) ? (body as { tasks: unknown[] }).tasks : [body];
  for (const task of tasks) {
    if (task === null || typeof task !== 'object' || Array.isArray(task)) continue; // validation names it
    const given = (task as { parentId?: unknown }).parentId;
    if (given === undefined) (task as { parentId?: string }).parentId = scope;
    else if (typeof given !== 'string' || !sup.inSubtree(scope, given)) {
      return refuse(reply, 403, `task ${scope} may submit children of its own subtree only; parentId ${JSON.stringify(given)} is not in it`);
    }
  }
  return undefined;
}

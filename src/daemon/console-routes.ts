// The operations console's routes: counts of tasks by state, the agents and their intake (pause, resume).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Supervisor } from '../index.js';
import { parseWith } from '../internal.js';
import { filterQuery } from './routes.js';

const countsSchema = z.strictObject(filterQuery);

type AgentParams = { name: string };

export function consoleRoutes(app: FastifyInstance, sup: Supervisor): void {
  app.get('/v1/tasks/counts', async (req) => sup.count(parseWith(countsSchema, req.query, 'TROUPE_BAD_REQUEST', 'query')));
  app.get('/v1/agents', async () => ({ agents: sup.agents() }));
  app.post<{ Params: AgentParams }>('/v1/agents/:name/pause', async (req) => sup.pause(req.params.name));
  app.post<{ Params: AgentParams }>('/v1/agents/:name/resume', async (req) => sup.resume(req.params.name));
}

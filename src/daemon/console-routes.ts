// The operations console's routes: counts of tasks by state, the agents and their intake (pause, resume).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AgentInfo, Supervisor } from '../index.js';
import { filterQuery } from './routes.js';
import { answers, nameMap, zod } from './schemas.js';

const countsQuery = z.strictObject(filterQuery);
const counts = z.object({ total: z.number(), byState: nameMap<number>({ type: 'integer' }, 'tasks per state') });
const agentInfo = z.toJSONSchema(
  z.object({ kind: z.enum(['module', 'command']), paused: z.boolean(), pausedAt: z.number().optional(), queued: z.number(), running: z.number(), concurrency: z.number().nullable() }),
  { io: 'output' },
);
const agentParams = z.object({ name: z.string().describe('an agent of the configuration') });
const intake = z.object({ agent: z.string(), paused: z.boolean() });

export function consoleRoutes(app: FastifyInstance, sup: Supervisor): void {
  const api = zod(app);
  api.get('/v1/tasks/counts', { schema: { querystring: countsQuery, response: answers({ 200: counts }) } }, async (req) => sup.count(req.query));
  api.get('/v1/agents', { schema: { response: answers({ 200: z.object({ agents: nameMap<AgentInfo>(agentInfo, 'agents by name') }) }) } }, async () => ({ agents: sup.agents() }));
  api.post('/v1/agents/:name/pause', { schema: { params: agentParams, response: answers({ 200: intake }) } }, async (req) => sup.pause(req.params.name));
  api.post('/v1/agents/:name/resume', { schema: { params: agentParams, response: answers({ 200: intake }) } }, async (req) => sup.resume(req.params.name));
}

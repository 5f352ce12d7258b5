/**
 * `GET /v1/metrics/history` → `{ intervalMs, samples }`: the last five minutes of the figures the
 * dashboard's charts draw (history.ts), oldest first, so that a page opened now has full charts;
 * `?since=<at>` only the samples taken after `at` (what an open page asks for each second).
 * The sampler is shared by the daemon's listeners and stops when the last of them closes.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Supervisor } from '../index.js';
import { acquireHistory, releaseHistory } from './history.js';
import { answers, zod } from './schemas.js';

const ms = z.number().nullable().describe('end-to-end latency in ms over the tasks finished since start; null before the first');
const sample = z.object({
  at: z.number().describe('epoch ms'),
  throughput1s: z.number(),
  throughput10s: z.number(),
  p50: ms,
  p95: ms,
  p99: ms,
  queued: z.number(),
  delayed: z.number(),
  running: z.number(),
  threads: z.number(),
  target: z.number(),
  busy: z.number(),
});
const query = z.strictObject({ since: z.coerce.number().optional().describe('epoch ms: only samples taken after it') });
const history = z.object({ intervalMs: z.number(), samples: z.array(sample).describe('oldest first, at most five minutes') });

export function historyRoutes(app: FastifyInstance, sup: Supervisor): void {
  const kept = acquireHistory(sup);
  app.addHook('onClose', async () => releaseHistory(sup));
  zod(app).get('/v1/metrics/history', { schema: { querystring: query, response: answers({ 200: history }) } }, async (req) => {
    const since = req.query.since;
    const samples = kept.samples();
    return { intervalMs: kept.intervalMs, samples: since === undefined ? samples : samples.filter((s) => s.at > since) };
  });
}

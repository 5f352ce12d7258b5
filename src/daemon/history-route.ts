/**
 * `GET /v1/metrics/history` → `{ intervalMs, samples }`: the last five minutes of the figures the
 * dashboard's charts draw (history.ts), oldest first, so that a page opened now has full charts.
 * The sampler is shared by the daemon's listeners and stops when the last of them closes.
 */
import type { FastifyInstance } from 'fastify';
import type { Supervisor } from '../index.js';
import { acquireHistory, releaseHistory } from './history.js';

export function historyRoutes(app: FastifyInstance, sup: Supervisor): void {
  const history = acquireHistory(sup);
  app.addHook('onClose', async () => releaseHistory(sup));
  app.get('/v1/metrics/history', async () => ({ intervalMs: history.intervalMs, samples: history.samples() }));
}

// The daemon the dashboard's browser tests drive: a journal, a Unix socket and a TCP listener with a token.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { Endpoint } from '../../dist/daemon/client.js';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../dist/daemon/daemon.js';

/** Starts a daemon in `dir` with `agents`, TCP on a free port behind `token`; its URL and a TCP endpoint for calls. */
export async function dashboardDaemon(dir: string, agents: Record<string, unknown>, token: string): Promise<{ daemon: RunningDaemon; url: string; tcp: Endpoint }> {
  const file = join(dir, 'troupe.config.json');
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', tcp: { port: 0, token }, agents }));
  const daemon = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  return { daemon, url: daemon.url!, tcp: { url: daemon.url!, token } };
}

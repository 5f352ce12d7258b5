// The daemon the dashboard's browser tests drive: a journal, a Unix socket and a TCP listener with a token.
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

/** The token the browser tests' daemons are started with. */
export const TOKEN = 'a-dashboard-token-of-some-length';
/** Debian's Chromium (`.ci/run` installs it) and the flags it runs headless with here. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** A ceiling for each wait on the page: Chromium and the daemon share a loaded machine. */
export const WAIT_MS = 60_000;
/** Where screenshots go. */
export const OUTPUT = process.env.TROUPE_TEST_OUTPUT ?? resolve(import.meta.dirname, '../../test-results');

/** True when the browser tests cannot run (no Chromium, outside CI): they are skipped, and `file` says so once. */
export function skipBrowser(file: string): boolean {
  const skip = !existsSync(CHROMIUM) && !process.env.CI;
  if (skip) console.warn(`${file}: ${CHROMIUM} not found, the browser test is skipped (apt-get install chromium to run it)`);
  return skip;
}

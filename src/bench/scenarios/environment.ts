/** What every scenario needs around the runtime: a private directory, a quiet logger, the clock. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Supervisor } from '../../index.js';

/** Runs `body` with a fresh directory (journals, sockets, side-effect files), always removed after. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-scenario-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `body` on a runtime from `start`, always shut down after. */
export async function withSupervisor<T>(start: () => Promise<Supervisor>, body: (sup: Supervisor) => Promise<T>): Promise<T> {
  const sup = await start();
  try {
    return await body(sup);
  } finally {
    await sup.shutdown();
  }
}

/**
 * Errors only, to stderr: scenario (c) opens breakers on purpose, and each opening would log a
 * warning (and a breaker-open alert) in the middle of the bench's table.
 */
export function quietLogger(): Logger {
  return pino({ name: 'troupe', level: 'error' }, pino.destination(2));
}

/** The supervisor's clock (systemClock): epoch ms with sub-ms precision, as events' `at`. */
export const now = (): number => performance.timeOrigin + performance.now();

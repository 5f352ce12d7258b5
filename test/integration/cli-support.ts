// What the CLI tests share: the built `troupe` run as a user runs it, and a daemon for it to talk to.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { onTestFinished } from 'vitest';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { agentPath, tempDir } from '../helpers.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

export type Run = { code: number; out: string; err: string };

/** Runs the built `troupe` binary off a terminal, without $COLUMNS; resolves with its exit code and output. */
export function troupe(socket: string, ...args: string[]): Promise<Run> {
  const { COLUMNS: _columns, ...env } = process.env;
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...env, TROUPE_SOCKET: socket } }, (error, out, err) => {
      done({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), out: out.trim(), err: err.trim() });
    });
  });
}

/** A daemon on a socket of its own with agents `echo` and `bad` (unrecoverable), stopped after the test; its socket. */
export async function cliDaemon(): Promise<string> {
  const dir = tempDir();
  const file = join(dir, 'troupe.config.json');
  const agents = { echo: { module: agentPath('echo') }, bad: { module: agentPath('unrecoverable') } };
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents }));
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return running.socket;
}

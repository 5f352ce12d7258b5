import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = resolve(ROOT, 'dist/cli.js');

/** Polls an asynchronous condition every 50 ms (a ceiling of 60 s, like waitFor's). */
async function until<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  for (const deadline = Date.now() + 60_000; ; ) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function troupe(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env }, (error, out) => done({ code: error === null ? 0 : Number((error as { code?: number }).code), out: out.trim() }));
  });
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((r) => child.once('exit', (code) => r(code)));

describe('npm start: the example daemon', () => {
  it('prints the dashboard and socket, feeds every example agent, dead letters redrive, SIGTERM drains to exit 0', async () => {
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain('daemon --example');
    const env = { ...process.env, TROUPE_STATE_DIR: resolve(tempDir(), 'state'), TROUPE_PORT: '0', TROUPE_LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [CLI, 'daemon', '--example'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const banner = await until(async () => (/socket\s+(\S+)/.test(out) ? out : undefined), 'the banner');

    const dashboard = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)/.exec(banner);
    expect(dashboard, banner).not.toBeNull();
    const [, url, token] = dashboard!;
    expect(/socket\s+(\S+)/.exec(banner)![1]).toBe(resolve(env.TROUPE_STATE_DIR, 'troupe.sock'));
    const page = await fetch(`${url}/?token=${token}`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('set-cookie')).toMatch(/^troupe_token=/);
    const bearer = { headers: { authorization: `Bearer ${decodeURIComponent(token!)}` } };
    expect((await fetch(`${url}/readyz`, bearer)).status).toBe(200);

    // The feed keeps every example agent busy; the CLI (on the default socket) sees the same daemon.
    const snapshot = async () => (await (await fetch(`${url}/v1/snapshot`, bearer)).json()) as { byAgent: Record<string, { succeeded: number }> };
    await until(async () => {
      const { byAgent } = await snapshot();
      return ['hash', 'words', 'review', 'flaky'].every((a) => (byAgent[a]?.succeeded ?? 0) > 0) || undefined;
    }, 'a success of every example agent');
    const dead = await until(async () => {
      const list = JSON.parse((await troupe(env, 'dlq', '--json')).out) as { id: string }[];
      return list[0]?.id;
    }, 'a dead letter from the flaky agent');
    expect(await troupe(env, 'dlq', 'redrive', dead)).toMatchObject({ code: 0 });
    expect(await troupe(env, 'wait', dead)).toMatchObject({ code: 0, out: `[1/1] ${dead} succeeded` });

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  }, 240_000); // a daemon and runs of the binary, a Node start-up each: seconds apiece on a loaded machine
});

import { execFile, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import pino from 'pino';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { agentPath, commandPath, tempDir, waitFor } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

function troupe(socket: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, TROUPE_SOCKET: socket } }, (error, out, err) => {
      done({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), out: out.trim(), err: err.trim() });
    });
  });
}

function get(socket: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const req = request({ socketPath: socket, path, method: 'GET' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', fail);
    req.end();
  });
}

async function daemon(gate: string) {
  const dir = tempDir();
  const file = join(dir, 'troupe.config.json');
  const agents = {
    slow: { command: process.execPath, args: [commandPath('slow-lines'), gate, '3', '6'], output: 'text' },
    logger: { module: agentPath('logger') },
    own: { command: process.execPath, args: [commandPath('own-logs'), CLI] },
  };
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents }));
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return running;
}

// Each troupe() is a Node start-up: seconds on a loaded machine. Ceilings, not budgets.
describe('troupe logs and GET /v1/tasks/:id/logs', { timeout: 240_000 }, () => {
  it('troupe logs -f shows the lines of a running command as they come, and all of them after it ends', async () => {
    const gate = join(tempDir(), 'gate');
    const { socket, supervisor: sup } = await daemon(gate);
    const id = (await troupe(socket, 'submit', 'slow')).out;
    const child = spawn(process.execPath, [CLI, 'logs', id, '-f'], { env: { ...process.env, TROUPE_SOCKET: socket } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    onTestFinished(() => void child.kill());
    await waitFor(() => out.includes('err 3'), 'the first lines, while the task runs', 120_000);
    expect(sup.get(id)!.state).toBe('running');
    expect(out).not.toContain('out 4');
    writeFileSync(gate, 'open');
    expect(await exited).toBe(0);
    expect(sup.get(id)!.state).toBe('succeeded');
    const want = [1, 2, 3, 4, 5, 6].flatMap((n) => [`stdout out ${n}`, `stderr err ${n}`]);
    expect(out.trim().split('\n').map((l) => l.replace(/\s+/, ' '))).toEqual(want);
    // After it ended: the whole log, without -f too; --json gives the lines as stored.
    const after = await troupe(socket, 'logs', id, '--json');
    expect(after.code).toBe(0);
    expect(after.out.split('\n').map((l) => (JSON.parse(l) as { line: string }).line)).toEqual(want.map((w) => w.split(' ').slice(1).join(' ')));
  });

  it('streams newline-delimited JSON over HTTP; rejects bad parameters and unknown ids', async () => {
    const { socket, supervisor: sup } = await daemon('');
    const id = await sup.submit({ agent: 'logger', input: { lines: 3 } });
    await sup.result(id);
    const res = await get(socket, `/v1/tasks/${id}/logs?follow=1&attempt=1`);
    expect(res.status).toBe(200);
    const lines = res.text.trim().split('\n').map((l) => JSON.parse(l) as { attempt: number; stream: string; line: string });
    expect(lines.map((l) => [l.attempt, l.stream, l.line])).toEqual([1, 2, 3].map((n) => [1, 'log', `attempt 1 line ${n}`]));
    expect(await get(socket, `/v1/tasks/${id}/logs?attempt=0`)).toMatchObject({ status: 400, text: expect.stringContaining('query.attempt') });
    expect(await get(socket, `/v1/tasks/nope/logs`)).toMatchObject({ status: 404, text: expect.stringContaining('TROUPE_UNKNOWN_TASK') });
    expect(await troupe(socket, 'logs', 'nope')).toMatchObject({ code: 5, err: expect.stringContaining('TROUPE_UNKNOWN_TASK') });
    expect(await troupe(socket, 'logs', id, '--attempt', 'x')).toMatchObject({ code: 2 });
  });

  it("a command task reads its own output with its task token (troupe logs inside it)", async () => {
    const { supervisor: sup } = await daemon('');
    const id = await sup.submit({ agent: 'own' });
    await expect(sup.result(id)).resolves.toEqual([expect.objectContaining({ attempt: 1, stream: 'stderr', line: 'hello from the task' })]);
  });
});

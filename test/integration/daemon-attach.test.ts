// `troupe attach` under tmux (a real terminal for the client), and the terminal routes of the daemon.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import pino from 'pino';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { commandPath, tempDir, waitFor } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const TERMINAL = commandPath('terminal');
const run = promisify(execFile);
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

async function daemon() {
  const dir = tempDir();
  const file = join(dir, 'troupe.config.json');
  const agents = {
    echo: { command: process.execPath, args: [TERMINAL, 'echo'], tty: true, input: 'none', output: 'text' },
    proto: { command: process.execPath, args: [TERMINAL, 'protocol'], tty: true, input: 'none' },
    plain: { command: process.execPath, args: [TERMINAL, 'info'], input: 'none' },
  };
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', agents }));
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return running;
}

function http(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json' };
    const req = request({ socketPath: socket, path, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', fail);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A tmux server of its own with one 120x40 window running `command`; killed after the test. */
async function tmux(command: string): Promise<{ pane(escapes?: boolean): Promise<string>; keys(...keys: string[]): Promise<void> }> {
  const name = `troupe-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tm = (...args: string[]) => run('tmux', ['-L', name, ...args]);
  await tm('new-session', '-d', '-x', '120', '-y', '40', command);
  onTestFinished(() => tm('kill-server').then(() => undefined, () => undefined));
  return {
    pane: async (escapes = false) => (await tm('capture-pane', '-p', ...(escapes ? ['-e'] : []))).stdout,
    keys: async (...keys) => void (await tm('send-keys', ...keys)),
  };
}

/** Polls the pane until `test` holds; the ceiling is for a loaded machine, not a budget. */
async function paneShows(screen: Awaited<ReturnType<typeof tmux>>, test: (text: string) => boolean, what: string, escapes = false): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const text = await screen.pane(escapes);
    if (test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the pane to show ${what}; it shows:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `troupe attach` in the pane, then its exit status, then a wait that keeps the pane for reading. */
const attachCommand = (socket: string, ...args: string[]): string =>
  `TROUPE_SOCKET=${quote(socket)} ${quote(process.execPath)} ${quote(CLI)} attach ${args.map(quote).join(' ')}; echo "EXIT=$?"; sleep 600`;

// Each client is a Node start-up: seconds on a loaded machine. Ceilings, not budgets.
describe('troupe attach and the terminal routes', { timeout: 240_000 }, () => {
  it('shows the running task\'s screen under tmux, read-only; Ctrl-] detaches and the task goes on', async () => {
    const { socket, supervisor: sup } = await daemon();
    const id = await sup.submit({ agent: 'echo' });
    await waitFor(() => sup.get(id)?.state === 'running', 'the task runs');
    const screen = await tmux(attachCommand(socket, id));
    // The banner was drawn before attach came: it is replayed, in its colour.
    const shown = await paneShows(screen, (t) => t.includes('=== echo ready ==='), 'the task\'s banner', true);
    expect(shown).toMatch(/\x1b\[32m=== echo ready ===/);
    expect(await screen.pane()).toContain(`[troupe] task ${id} attempt 1 120x40, read-only; Ctrl-] detaches`);
    // Read-only: what is typed goes nowhere.
    await screen.keys('ignored', 'Enter');
    sup.terminal(id).write('live\r');
    await paneShows(screen, (t) => t.includes('echo: live'), 'live output');
    expect(await screen.pane()).not.toContain('echo: ignored');
    await screen.keys('C-]');
    const after = await paneShows(screen, (t) => t.includes('EXIT='), 'attach exiting');
    expect(after).toContain(`[troupe] detached from task ${id}; it goes on running`);
    expect(after).toContain('EXIT=0');
    expect(sup.get(id)!.state).toBe('running');
    sup.terminal(id).write('quit\r');
    expect(await sup.result(id)).not.toContain('ignored');
  });

  it('--write types into the task; attach exits 0 when the task\'s process ends', async () => {
    const { socket, supervisor: sup } = await daemon();
    const id = await sup.submit({ agent: 'echo' });
    await waitFor(() => sup.get(id)?.state === 'running', 'the task runs');
    const screen = await tmux(attachCommand(socket, id, '--write'));
    await paneShows(screen, (t) => t.includes('=== echo ready ==='), 'the task\'s banner');
    expect(await screen.pane()).toContain('typing goes to it; Ctrl-] detaches');
    await screen.keys('hello from tmux', 'Enter');
    await paneShows(screen, (t) => t.includes('echo: hello from tmux'), 'the task echoing the typed line');
    await screen.keys('quit', 'Enter');
    const after = await paneShows(screen, (t) => t.includes('EXIT='), 'attach exiting');
    expect(after).toContain(`[troupe] task ${id}: its process exited`);
    expect(after).toContain('EXIT=0');
    expect(await sup.result(id)).toContain('echo: hello from tmux\n');
  });

  it('streams the terminal over HTTP; errors for unknown tasks and tasks without one; logs ?raw=1 and troupe logs --raw', async () => {
    const { socket, supervisor: sup } = await daemon();
    const proto = await sup.submit({ agent: 'proto' });
    const plain = await sup.submit({ agent: 'plain' });
    await Promise.all([sup.result(proto), sup.result(plain)]);
    const unknown = await http(socket, 'GET', '/v1/tasks/nope/terminal');
    expect([unknown.status, JSON.parse(unknown.text).error.code]).toEqual([404, 'TROUPE_UNKNOWN_TASK']);
    for (const path of [`/v1/tasks/${plain}/terminal`, `/v1/tasks/${proto}/terminal`]) {
      const res = await http(socket, 'GET', path);
      expect([res.status, JSON.parse(res.text).error.code]).toEqual([409, 'TROUPE_NO_TERMINAL']);
    }
    const input = await http(socket, 'POST', `/v1/tasks/${proto}/terminal/input`, { data: 1 });
    expect([input.status, JSON.parse(input.text).error.details.field]).toEqual([400, 'body.data']);
    const attach = await run(process.execPath, [CLI, 'attach', plain, '--socket', socket]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(attach.code).toBe(1);
    expect(attach.stderr).toContain('TROUPE_NO_TERMINAL');
    const raw = await http(socket, 'GET', `/v1/tasks/${proto}/logs?raw=1`);
    expect(raw.text.trim().split('\n').map((l) => (JSON.parse(l) as { stream: string; line: string }).line)).toEqual(['\x1b[32mgreen line\x1b[0m', '10%\r50%\r100%', '{"done":true}']);
    const cli = await run(process.execPath, [CLI, 'logs', proto, '--socket', socket]);
    expect(cli.stdout).toBe('green line\n100%\n{"done":true}\n');
    const cliRaw = await run(process.execPath, [CLI, 'logs', proto, '--raw', '--socket', socket]);
    expect(cliRaw.stdout).toBe('\x1b[32mgreen line\x1b[0m\n10%\r50%\r100%\n{"done":true}\n');
    // While it runs: the stream is the terminal's bytes, with its size in a header.
    const echo = await sup.submit({ agent: 'echo' });
    await waitFor(() => sup.get(echo)?.state === 'running', 'the echo task runs');
    const resized = await http(socket, 'POST', `/v1/tasks/${echo}/terminal/resize`, { cols: 80, rows: 24 });
    expect(JSON.parse(resized.text)).toEqual({ id: echo, cols: 80, rows: 24 });
    let streamed = '';
    const ended = new Promise<number>((done, fail) => {
      const req = request({ socketPath: socket, path: `/v1/tasks/${echo}/terminal` }, (res) => {
        expect(res.headers['x-troupe-terminal-size']).toBe('80x24');
        res.setEncoding('utf8');
        res.on('data', (c: string) => (streamed += c));
        res.on('end', () => done(res.statusCode ?? 0)); // when the process exits
      });
      req.on('error', fail);
      req.end();
    });
    await waitFor(() => streamed.includes('\x1b[32m=== echo ready ==='), 'the replayed banner, escapes and all');
    await http(socket, 'POST', `/v1/tasks/${echo}/terminal/input`, { data: 'typed\r' });
    await waitFor(() => streamed.includes('echo: typed'), 'the echo, live');
    await http(socket, 'POST', `/v1/tasks/${echo}/terminal/input`, { data: 'quit\r' });
    expect(await ended).toBe(200);
  });
});

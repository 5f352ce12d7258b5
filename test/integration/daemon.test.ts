import { spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon } from '../../dist/daemon/daemon.js';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import { agentPath, gate, tempDir, waitFor } from '../helpers.js';
import pino from 'pino';

const TOKEN = 'a-token-of-sufficient-length';
const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

/** Polls an asynchronous condition every 10 ms (a ceiling of 60 s, like waitFor's). */
async function until(condition: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 60_000; !(await condition()); ) {
    if (Date.now() > deadline) throw new Error('condition not met within 60 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Writes a config file into a fresh directory; returns its path. */
function configFile(config: Record<string, unknown>): string {
  const dir = tempDir();
  const file = join(dir, 'troupe.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Sends `request` as it is on a TCP connection; resolves with the status and the parsed body of the answer. */
function rawRequest(url: string, request: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body: JSON.parse(body) as unknown });
    });
    socket.end(request);
  });
}

/** POSTs `text` as a JSON body on the socket (a value too deep for JSON.stringify can still be sent as text). */
function postText(socket: string, path: string, text: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: socket, method: 'POST', path, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) as unknown }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

const agents = {
  echo: { module: agentPath('echo') },
  gate: { module: agentPath('gate') },
  bad: { module: agentPath('unrecoverable') },
};

/** Starts a daemon in this process (socket, and TCP with a token); stopped after the test. */
async function daemon(extra: Record<string, unknown> = {}) {
  const file = configFile({ journal: 'j.db', socket: 't.sock', tcp: { port: 0, token: TOKEN }, agents, ...extra });
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return { running, socket: { socket: running.socket } as Endpoint, tcp: { url: running.url!, token: TOKEN } as Endpoint };
}

describe('daemon configuration', () => {
  // A TCP port without a token is valid: the token is kept beside the socket (http-auth.test.ts).
  it('rejects unknown keys, a short TCP token or a missing token file, naming the key', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ agents, sockett: 'x' }, 'config.sockett'],
      [{ agents, tcp: { port: 8080, token: 'short' } }, 'config.tcp.token'],
      [{ agents, shutdownTimeoutMs: -1 }, 'config.shutdownTimeoutMs'],
      [{ agents, tcp: { port: 8080, tokenFile: 'missing.txt' } }, 'config.tcp.tokenFile'],
    ];
    for (const [config, field] of cases) {
      expect(() => loadConfig(configFile(config), {})).toThrow(expect.objectContaining({ code: 'TROUPE_INVALID_OPTIONS', details: expect.objectContaining({ field }) }));
    }
  });

  it('takes journal ":memory:" as no journal, not as a file beside the config', () => {
    expect(loadConfig(configFile({ agents, journal: ':memory:' }), {}).runtime.journal).toBe(':memory:');
  });

  it('resolves paths against the config file and takes overrides from the environment', () => {
    const file = configFile({ agents: { echo: { module: './echo.mjs' }, sh: { command: 'sh', cwd: 'work' } }, journal: 'j.db' });
    const dir = resolve(file, '..');
    const c = loadConfig(file, { TROUPE_STATE_DIR: '/tmp/troupe-state', TROUPE_PORT: '7777', TROUPE_TOKEN: TOKEN });
    expect(c.runtime.journal).toBe(join(dir, 'j.db'));
    expect((c.runtime.agents.echo as { module: string }).module).toBe(join(dir, 'echo.mjs'));
    expect((c.runtime.agents.sh as { cwd: string }).cwd).toBe(join(dir, 'work'));
    expect(c.socket).toBe('/tmp/troupe-state/troupe.sock');
    expect(c.tcp).toEqual({ host: '127.0.0.1', port: 7777, token: TOKEN, planRoots: [] });
    expect(loadConfig(configFile({ agents }), { XDG_STATE_HOME: '/x/state' }).runtime.journal).toBe('/x/state/troupe/journal.db');
  });
});

describe('daemon HTTP API', () => {
  it('serves the task API on a 0600 Unix socket: submit, get, list, wait, batch', async () => {
    const { running, socket } = await daemon();
    expect(statSync(running.socket).mode & 0o777).toBe(0o600);
    const submitted = await callDaemon(socket, 'POST', '/v1/tasks', { agent: 'echo', input: { n: 1 } });
    expect(submitted.status).toBe(201);
    const id = (submitted.body as { id: string }).id;
    const done = await callDaemon(socket, 'GET', `/v1/tasks/${id}/result?waitMs=60000`);
    expect(done).toMatchObject({ status: 200, body: { id, done: true, state: 'succeeded', result: { input: { n: 1 } } } });
    expect(await callDaemon(socket, 'GET', `/v1/tasks/${id}`)).toMatchObject({ status: 200, body: { id, state: 'succeeded' } });
    const batch = await callDaemon(socket, 'POST', '/v1/tasks', [{ agent: 'echo', input: 1 }, { agent: 'echo', input: 2 }]);
    expect((batch.body as { ids: string[] }).ids).toHaveLength(2);
    const list = await callDaemon(socket, 'GET', '/v1/tasks?agent=echo&limit=2');
    expect((list.body as { tasks: { id: string }[] }).tasks.map((t) => t.id)).toEqual([id, (batch.body as { ids: string[] }).ids[0]]);
  });

  it('answers bad requests with 4xx, the error code and the field, and accepts nothing of a bad batch', async () => {
    const { socket } = await daemon({ bodyLimitBytes: 2048 });
    expect(await callDaemon(socket, 'POST', '/v1/tasks', { agent: 'nope' })).toMatchObject({
      status: 400,
      body: { error: { code: 'TROUPE_UNKNOWN_AGENT', details: { field: 'task.agent', value: 'nope' } } },
    });
    const bad = await callDaemon(socket, 'POST', '/v1/tasks', [{ agent: 'echo' }, { agent: 'echo', priority: 'urgent' }]);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'TROUPE_INVALID_TASK', details: { field: 'tasks[1].priority' } } } });
    expect(((await callDaemon(socket, 'GET', '/v1/tasks')).body as { tasks: unknown[] }).tasks).toEqual([]);
    expect(await callDaemon(socket, 'POST', '/v1/tasks', { agent: 'echo', input: 'x'.repeat(4096) })).toMatchObject({ status: 413, body: { error: { code: 'TROUPE_BODY_TOO_LARGE' } } });
    expect(await callDaemon(socket, 'GET', '/v1/tasks/no-such-task')).toMatchObject({ status: 404, body: { error: { code: 'TROUPE_UNKNOWN_TASK' } } });
    expect(await callDaemon(socket, 'GET', '/v1/nothing')).toMatchObject({ status: 404, body: { error: { code: 'TROUPE_NOT_FOUND' } } });
    expect(await callDaemon(socket, 'GET', '/v1/tasks?limit=abc')).toMatchObject({ status: 400 });
    expect(await callDaemon(socket, 'PUT', '/v1/breakers/agent:echo', { state: 'ajar' })).toMatchObject({ status: 400 });
  });

  // Issue 15: a 5,000-deep input overflowed the stack while the error was described (String() of a
  // deep array), and Fastify answered 500 in a shape of its own.
  it('refuses an input nested deeper than MAX_INPUT_DEPTH with 400 TROUPE_INVALID_TASK naming its depth, however deep', async () => {
    const { running, socket } = await daemon();
    for (const depth of [5_000, 100_000]) {
      for (const [open, close] of [['[', ']'], ['{"a":', '}']]) {
        const input = `${open!.repeat(depth)}1${close!.repeat(depth)}`;
        const res = await postText(running.socket, '/v1/tasks', `{"agent":"echo","input":${input}}`);
        expect(res).toEqual({
          status: 400,
          body: { error: { code: 'TROUPE_INVALID_TASK', message: `task.input: must nest objects and arrays at most 100 levels deep (got ${depth} levels)`, details: { field: 'task.input', rule: 'must nest objects and arrays at most 100 levels deep', value: depth } } },
        });
      }
      // A deep value where a string belongs is a type error, its value described rather than echoed.
      const agent = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      expect(await postText(running.socket, '/v1/tasks', `{"agent":${agent}}`)).toMatchObject({ status: 400, body: { error: { code: 'TROUPE_INVALID_TASK', details: { field: 'task.agent', value: expect.any(String) } } } });
    }
    const ok = `${'['.repeat(100)}1${']'.repeat(100)}`;
    const accepted = await callDaemon(socket, 'POST', '/v1/tasks', { agent: 'echo', input: JSON.parse(ok) });
    expect(accepted.status).toBe(201);
    const done = await callDaemon(socket, 'GET', `/v1/tasks/${(accepted.body as { id: string }).id}/result?waitMs=10000`);
    expect(done).toMatchObject({ status: 200, body: { state: 'succeeded' } });
  });

  it('answers what the HTTP parser, the router and the auth refuse with the error body too', async () => {
    const { tcp } = await daemon();
    const url = (tcp as { url: string }).url;
    const auth = `Host: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n`;
    const cases: [string, number][] = [
      [`GET /v1/tasks/%E0%A4%A HTTP/1.1\r\n${auth}\r\n`, 400], // not a valid URL component: Fastify's FST_ERR_BAD_URL
      [`FOO /v1/tasks HTTP/1.1\r\n${auth}\r\n`, 400], // no such method: Node's parser refuses it
      [`GARBAGE\r\n\r\n`, 400],
      [`GET /v1/tasks HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`, 400], // no Host: Node's bare 400 had an empty body
      [`GET /v1/tasks HTTP/1.1\r\n${auth}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      [`GET /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: troupe_token=%E0%A4%A\r\nConnection: close\r\n\r\n`, 401], // a cookie that does not decode is no token
      [`DELETE /v1/tasks HTTP/1.1\r\n${auth}\r\n`, 405],
      [`GET /v1/nothing HTTP/1.1\r\n${auth}\r\n`, 404],
    ];
    for (const [request, status] of cases) {
      const res = await rawRequest(url, request);
      expect({ request: request.slice(0, 40), ...res }).toMatchObject({ status, body: { error: { code: expect.stringMatching(/^TROUPE_(BAD_REQUEST|UNAUTHORIZED|NOT_FOUND|METHOD_NOT_ALLOWED)$/), message: expect.any(String) } } });
    }
  });

  it('cancels, lists and redrives dead letters, and forces breakers', async () => {
    const g = gate();
    const { socket } = await daemon();
    const held = (await callDaemon(socket, 'POST', '/v1/tasks', { agent: 'gate', input: { gate: g.path } })).body as { id: string };
    expect(await callDaemon(socket, 'GET', `/v1/tasks/${held.id}/result?waitMs=50`)).toMatchObject({ status: 200, body: { done: false } });
    expect(await callDaemon(socket, 'POST', `/v1/tasks/${held.id}/cancel`)).toMatchObject({ status: 200, body: { cancelled: true } });
    const dead = (await callDaemon(socket, 'POST', '/v1/tasks', { agent: 'bad', input: 1 })).body as { id: string };
    await callDaemon(socket, 'GET', `/v1/tasks/${dead.id}/result?waitMs=60000`);
    const letters = (await callDaemon(socket, 'GET', '/v1/dead-letters')).body as { tasks: { id: string; history: unknown[] }[] };
    expect(letters.tasks.map((t) => t.id)).toEqual([dead.id]);
    expect(letters.tasks[0]!.history).toHaveLength(1);
    expect(await callDaemon(socket, 'POST', '/v1/dead-letters/redrive', { ids: [dead.id] })).toMatchObject({ status: 200, body: { ids: [dead.id] } });
    expect(await callDaemon(socket, 'POST', '/v1/dead-letters/redrive', { ids: [held.id] })).toMatchObject({ status: 409 });
    expect(await callDaemon(socket, 'PUT', '/v1/breakers/agent:echo', { state: 'open' })).toMatchObject({ status: 200, body: { breaker: { state: 'open', forced: true } } });
    expect(((await callDaemon(socket, 'GET', '/v1/breakers')).body as { breakers: Record<string, { state: string }> }).breakers['agent:echo']!.state).toBe('open');
  });

  it('is ready when a pool thread runs a probe, and not ready once it shuts down', async () => {
    const { running, socket } = await daemon();
    expect(await callDaemon(socket, 'GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await callDaemon(socket, 'GET', '/readyz')).toMatchObject({ status: 200, body: { ready: true, reasons: [], probeMs: expect.any(Number) } });
    await running.supervisor.shutdown({ timeoutMs: 0 });
    const after = await callDaemon(socket, 'GET', '/readyz');
    expect(after).toMatchObject({ status: 503, body: { ready: false } });
    expect((after.body as { reasons: string[] }).reasons).toContain('shutting down');
  });

  it('requires the bearer token on the TCP listener (401 without it or with a wrong one)', async () => {
    const { tcp } = await daemon();
    const url = (tcp as { url: string }).url;
    expect(new URL(url).hostname).toBe('127.0.0.1');
    expect(await callDaemon({ url, token: 'wrong-token-of-some-length' }, 'GET', '/healthz')).toMatchObject({ status: 401, body: { error: { code: 'TROUPE_UNAUTHORIZED' } } });
    const bare = await fetch(`${url}/v1/tasks`);
    expect(bare.status).toBe(401);
    expect(await callDaemon(tcp, 'POST', '/v1/tasks', { agent: 'echo' })).toMatchObject({ status: 201 });
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const scraped = await callDaemon(tcp, 'GET', '/metrics');
    expect(scraped.status).toBe(200);
    expect(scraped.body).toMatch(/^troupe_tasks_total\{event="submitted"\} 1$/m);
  });
});

describe('troupe daemon (the built binary)', () => {
  it('drains on SIGTERM and exits 0; a task still running is kept and completes after a restart', async () => {
    const g = gate();
    const file = configFile({ journal: 'j.db', socket: 't.sock', shutdownTimeoutMs: 100, agents });
    const socket = { socket: join(resolve(file, '..'), 't.sock') };
    const run = () => {
      const child = spawn(process.execPath, [CLI, 'daemon', '--config', file, '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'inherit'] });
      onTestFinished(() => void child.kill('SIGKILL'));
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      return { child, exited, ready: () => waitFor(() => out.includes('troupe daemon ready'), 'daemon ready') };
    };
    const first = run();
    await first.ready();
    const id = ((await callDaemon(socket, 'POST', '/v1/tasks', { agent: 'gate', input: { gate: g.path } })).body as { id: string }).id;
    await until(async () => ((await callDaemon(socket, 'GET', `/v1/tasks/${id}`)).body as { state: string }).state === 'running');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    g.open();
    const second = run();
    await second.ready();
    expect(await callDaemon(socket, 'GET', `/v1/tasks/${id}/result?waitMs=60000`)).toMatchObject({ body: { done: true, state: 'succeeded' } });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('exits 2 with the key and the rule on a bad config file', async () => {
    const file = configFile({ agents, socket: 3 });
    const child = spawn(process.execPath, [CLI, 'daemon', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(err).toContain('config.socket');
  });
});

// Signing in to the dashboard and the token's life (issue 19), with plain HTTP requests to a real
// daemon and the built CLI: the login page instead of a JSON 401, the cookie POST /login sets, the
// token kept in a 0600 file beside the socket across restarts, `troupe token show|rotate`.
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../dist/daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../dist/daemon/daemon.js';
import { agentPath, tempDir } from '../helpers.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

type Reply = { status: number; headers: IncomingHttpHeaders; body: string };

function send(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  const framed = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((done, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: Number(new URL(url).port), agent: false, method, path, headers: framed }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A config in a fresh directory: TCP on a free port, the token from `tcp` (none: kept beside the socket). */
function config(tcp: Record<string, unknown> = {}): string {
  const file = join(tempDir(), 'troupe.config.json');
  writeFileSync(file, JSON.stringify({ journal: 'j.db', socket: 't.sock', tcp: { port: 0, ...tcp }, agents: { echo: { module: agentPath('echo') } } }));
  return file;
}

async function start(file: string): Promise<RunningDaemon> {
  const running = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
  onTestFinished(() => running.stop());
  return running;
}

function troupe(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, TROUPE_TOKEN: '' } }, (error, out, err) => done({ code: error === null ? 0 : Number((error as { code?: number }).code), out, err }));
  });
}

const form = (token: string): [Record<string, string>, string] => [{ 'content-type': 'application/x-www-form-urlencoded' }, `token=${encodeURIComponent(token)}`];

describe('the dashboard login', () => {
  it('shows the login page to a browser without the token, signs in with a form post, keeps API 401s as JSON, and signs out', async () => {
    const running = await start(config({ token: 'a-login-token-of-some-length' }));
    const url = running.url!;
    const page = await send(url, 'GET', '/');
    expect(page.status).toBe(401);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<form method="post" action="/login"');
    expect(page.body).not.toContain('<script');
    expect(page.headers['content-security-policy']).toMatch(/form-action 'self'/);
    // Any page a browser asks for gets it; an API client gets JSON.
    expect((await send(url, 'GET', '/v1/tasks', { accept: 'text/html,application/xhtml+xml' })).body).toContain('data-testid="login-form"');
    expect(JSON.parse((await send(url, 'GET', '/v1/tasks')).body)).toMatchObject({ error: { code: 'TROUPE_UNAUTHORIZED', details: { reason: 'missing' } } });
    expect((await send(url, 'GET', '/login')).status).toBe(200);

    const wrong = await send(url, 'POST', '/login', ...form('not-the-token-at-all'));
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('data-testid="login-error"');
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const ok = await send(url, 'POST', '/login', ...form('a-login-token-of-some-length'));
    expect(ok).toMatchObject({ status: 303, headers: { location: '/' } });
    const cookie = ok.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/^troupe_token=[^;]+;/);
    expect(cookie).toMatch(/; Max-Age=2592000(;|$)/); // remembered across browser restarts, 30 days
    expect(cookie).toMatch(/; HttpOnly(;|$)/);
    expect(cookie).toMatch(/; SameSite=Strict(;|$)/);
    const session = cookie.split(';')[0]!;
    const dashboard = await send(url, 'GET', '/', { cookie: session });
    expect(dashboard.status).toBe(200);
    expect(dashboard.body).toContain('/dashboard/app.js');
    expect((await send(url, 'GET', '/v1/snapshot', { cookie: session })).status).toBe(200);
    // JSON works for scripts too; `/?token=` keeps working.
    expect((await send(url, 'POST', '/login', { 'content-type': 'application/json' }, JSON.stringify({ token: 'a-login-token-of-some-length' }))).status).toBe(303);
    const link = await send(url, 'GET', '/?token=a-login-token-of-some-length');
    expect(link).toMatchObject({ status: 303, headers: { location: '/' } });
    expect(link.headers['set-cookie']![0]).toMatch(/Max-Age=2592000/);
    // A stale or wrong cookie on the page: the login page with the reason.
    const stale = await send(url, 'GET', '/', { cookie: 'troupe_token=a-stale-token-of-some-length' });
    expect(stale.status).toBe(401);
    expect(stale.body).toContain('troupe_token cookie is not this daemon');

    const out = await send(url, 'POST', '/logout', { cookie: session });
    expect(out).toMatchObject({ status: 303, headers: { location: '/login' } });
    expect(out.headers['set-cookie']![0]).toMatch(/^troupe_token=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/);
    // The form is the only place a form body is taken.
    expect((await send(url, 'POST', '/v1/tasks', { authorization: 'Bearer a-login-token-of-some-length', ...form('x')[0] }, 'agent=echo')).status).toBe(415);
  });
});

describe('the token file', () => {
  it('makes a token on the first start (0600, beside the socket), reuses it after a restart, and troupe token rotate replaces it at once', async () => {
    const file = config();
    const first = await startDaemon(loadConfig(file, {}), pino({ level: 'silent' }));
    const tokenFile = join(resolve(file, '..'), 't.token');
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(first.tokens!.current()).toBe(token);
    await first.stop();

    const second = await start(file);
    expect(second.tokens!.current()).toBe(token);
    const url = second.url!;
    expect((await send(url, 'GET', '/v1/snapshot', { authorization: `Bearer ${token}` })).status).toBe(200);

    const shown = await troupe('token', 'show', '--socket', second.socket);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`dashboard  ${url}/?token=${encodeURIComponent(token)}`);
    expect(shown.out).toContain(tokenFile);

    const rotated = await troupe('token', 'rotate', '--socket', second.socket, '--json');
    expect(rotated.code).toBe(0);
    const fresh = (JSON.parse(rotated.out) as { token: string; dashboard: string; file: string }).token;
    expect(fresh).not.toBe(token);
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(fresh);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    // The old token is refused from the next request on, the new one taken; the old cookie too.
    const old = await send(url, 'GET', '/v1/snapshot', { authorization: `Bearer ${token}` });
    expect(JSON.parse(old.body)).toMatchObject({ error: { code: 'TROUPE_UNAUTHORIZED', details: { reason: 'wrong' } } });
    expect((await send(url, 'GET', '/v1/snapshot', { cookie: `troupe_token=${token}` })).status).toBe(401);
    expect((await send(url, 'GET', '/v1/snapshot', { authorization: `Bearer ${fresh}` })).status).toBe(200);
  });

  it('refuses to rotate a token the configuration fixes, says when no TCP listener has one, and rotates the file when no daemon runs', async () => {
    const fixed = await start(config({ token: 'a-fixed-token-of-some-length' }));
    const refused = await troupe('token', 'rotate', '--socket', fixed.socket);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/TROUPE_FORBIDDEN: the token is fixed by the configuration/);
    expect(fixed.tokens!.current()).toBe('a-fixed-token-of-some-length');

    const dir = tempDir();
    const plain = join(dir, 'troupe.config.json');
    writeFileSync(plain, JSON.stringify({ journal: ':memory:', socket: 'p.sock', agents: { echo: { module: agentPath('echo') } } }));
    const noTcp = await start(plain);
    const none = await troupe('token', 'show', '--socket', noTcp.socket);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no TCP listener/);

    const offline = join(tempDir(), 'gone.sock');
    const written = await troupe('token', 'rotate', '--socket', offline);
    expect(written.code).toBe(0);
    const kept = readFileSync(join(resolve(offline, '..'), 'gone.token'), 'utf8').trim();
    expect(written.out).toContain(kept);
    expect((await troupe('token', 'show', '--socket', offline)).code).toBe(4);
    expect((await troupe('token', 'bogus')).code).toBe(2);
  });
});

import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import type { RunningDaemon } from '../../dist/daemon/daemon.js';
import type { MetricsSnapshot, TaskInfo } from '../../dist/index.js';
import { agentPath } from '../helpers.js';
import { dashboardDaemon, TOKEN, CHROMIUM, CHROMIUM_ARGS, WAIT_MS, OUTPUT, skipBrowser as skipBrowserIn } from './dashboard-support.js';

/** Without Chromium the browser test is skipped on a workstation; on CI (`.ci/run` installs it) it fails. */
const skipBrowser = skipBrowserIn('dashboard.test.ts');


let dir: string;
let daemon: RunningDaemon;
let url: string;
let tcp: Endpoint;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'troupe-dashboard-'));
  const agents = {
    echo: { module: agentPath('echo') },
    gate: { module: agentPath('gate') },
    // Fails while its `down` file exists; with one attempt, a failure makes a dead letter at once.
    fixable: { module: agentPath('dependency'), retry: { attempts: 1 } },
  };
  ({ daemon, url, tcp } = await dashboardDaemon(dir, agents, TOKEN));
});

afterAll(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Reply = { status: number; headers: IncomingHttpHeaders; body: string };

/** A plain GET on the TCP listener with exactly the headers given (and the Host node sets, unless given). */
function get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The session cookie, as `GET /?token=` sets it. */
async function login(): Promise<string> {
  const reply = await get(`/?token=${TOKEN}`);
  expect(reply.status).toBe(303);
  return reply.headers['set-cookie']![0]!.split(';')[0]!;
}

describe('dashboard over HTTP', () => {
  it('refuses the page without the token, with a wrong one, and from a Host that is not loopback', async () => {
    // The page itself answers with the login page (http-auth.test.ts), its assets and the API with JSON.
    for (const path of ['/', '/?token=a-wrong-token-of-some-length']) {
      const reply = await get(path);
      expect(reply.status, path).toBe(401);
      expect(reply.body, path).toContain('data-testid="login-form"');
    }
    const asset = await get('/dashboard/app.js');
    expect(asset.status).toBe(401);
    expect(JSON.parse(asset.body)).toMatchObject({ error: { code: 'TROUPE_UNAUTHORIZED' } });
    expect((await get(`/?token=${TOKEN}`, { host: 'evil.example' })).status).toBe(401);
    expect((await get('/v1/snapshot', { host: `evil.example:${new URL(url).port}`, authorization: `Bearer ${TOKEN}` })).status).toBe(401);
  });

  it('moves the token into an HttpOnly SameSite=Strict cookie that authorises the page, its assets and the API', async () => {
    const redirect = await get(`/?token=${TOKEN}`);
    expect(redirect.status).toBe(303);
    expect(redirect.headers.location).toBe('/');
    const [cookie] = redirect.headers['set-cookie']!;
    expect(cookie).toMatch(/^troupe_token=[^;]+;/);
    expect(cookie).toMatch(/; HttpOnly(;|$)/);
    expect(cookie).toMatch(/; SameSite=Strict(;|$)/);
    const session = cookie!.split(';')[0]!;

    const page = await get('/', { cookie: session });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'.*script-src 'self'/);
    expect(page.body).toContain('<script src="/dashboard/app.js" type="module">');

    const snapshot = await get('/v1/snapshot', { cookie: session });
    expect(snapshot.status).toBe(200);
    expect(JSON.parse(snapshot.body)).toHaveProperty('counters.succeeded');
    expect((await get('/v1/snapshot', { cookie: session, host: 'evil.example' })).status).toBe(401);
    expect((await get('/v1/snapshot', { cookie: 'troupe_token=a-wrong-token-of-some-length' })).status).toBe(401);
    // Opened again with the token while signed in: the token still leaves the address bar.
    expect(await get(`/?token=${TOKEN}`, { cookie: session })).toMatchObject({ status: 303, headers: { location: '/' } });
  });

  it('serves the fixed set of assets with their content types, nothing else, and not on the Unix socket', async () => {
    const cookie = await login();
    const assets: [string, string][] = [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['util.js', 'text/javascript; charset=utf-8'],
      ['task-detail.js', 'text/javascript; charset=utf-8'],
      ['task-log.js', 'text/javascript; charset=utf-8'],
      ...['task-parts.js', 'format.js', 'charts.js', 'tasks.js', 'filters.js', 'actions.js', 'agents.js'].map((name): [string, string] => [name, 'text/javascript; charset=utf-8']),
      ['style.css', 'text/css; charset=utf-8'],
      ['uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
      ['uPlot.min.css', 'text/css; charset=utf-8'],
    ];
    for (const [name, type] of assets) {
      const reply = await get(`/dashboard/${name}`, { cookie });
      expect(reply.status, name).toBe(200);
      expect(reply.headers['content-type'], name).toBe(type);
      expect(reply.body.length, name).toBeGreaterThan(100);
    }
    for (const name of ['nope.js', 'index.html', '..%2Fserver.js', '..%2F..%2F..%2Fpackage.json', '%2Fetc%2Fpasswd']) {
      expect((await get(`/dashboard/${name}`, { cookie })).status, name).toBe(404);
    }
    expect((await callDaemon({ socket: daemon.socket }, 'GET', '/')).status).toBe(404);
  });
});

/** The text of the element with `data-testid`. */
const text = (page: Page, testId: string): Promise<string | null> => page.textContent(`[data-testid="${testId}"]`);

/** Waits until the element with `data-testid` reads `expected`. */
async function waitText(page: Page, testId: string, expected: string): Promise<void> {
  await expect.poll(() => text(page, testId), { timeout: WAIT_MS, interval: 50, message: `[data-testid="${testId}"]` }).toBe(expected);
}

/** Polls the API until `condition` holds. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + WAIT_MS; !(await condition()); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
  }
}

async function submit(task: Record<string, unknown>): Promise<string> {
  const reply = await callDaemon(tcp, 'POST', '/v1/tasks', task);
  expect(reply.status).toBe(201);
  return (reply.body as { id: string }).id;
}

const snapshot = async (): Promise<MetricsSnapshot> => (await callDaemon(tcp, 'GET', '/v1/snapshot')).body as MetricsSnapshot;
const task = async (id: string): Promise<TaskInfo> => (await callDaemon(tcp, 'GET', `/v1/tasks/${id}`)).body as TaskInfo;

describe.skipIf(skipBrowser)('dashboard in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('signs in with the token, shows live figures while tasks run, and redrives a dead letter with a click', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
    page.on('pageerror', (err) => void problems.push(`page error: ${err.message}`));

    // Signing in: the token moves into a cookie that scripts cannot read, and out of the address bar.
    await page.goto(`${url}/?token=${TOKEN}`);
    expect(page.url()).toBe(`${url}/`);
    await waitText(page, 'status', 'live');
    expect(await context.cookies()).toMatchObject([{ name: 'troupe_token', httpOnly: true, sameSite: 'Strict' }]);
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(await page.locator('.uplot canvas').count()).toBe(4);

    const before = (await snapshot()).counters.succeeded;
    await waitText(page, 'succeeded', String(before));
    await waitText(page, 'running', '0');
    expect(await page.locator('[data-breaker="agent:fixable"] .badge').textContent()).toBe('closed');

    // While tasks run: the counters move and the running task is listed.
    const gatePath = join(dir, 'gate');
    const held = await submit({ agent: 'gate', input: { gate: gatePath } });
    expect((await callDaemon(tcp, 'POST', '/v1/tasks', [1, 2, 3, 4, 5].map((n) => ({ agent: 'echo', input: n })))).status).toBe(201);
    await waitText(page, 'succeeded', String(before + 5));
    await waitText(page, 'running', '1');
    const heldRow = page.locator(`#running-rows tr[data-task-id="${held}"]`);
    await heldRow.waitFor({ timeout: WAIT_MS });
    expect(await heldRow.locator('td').nth(1).textContent()).toBe('gate');
    expect(await heldRow.locator('td').nth(5).textContent()).toContain('"waiting":true');
    expect(await text(page, 'latency-p95')).toMatch(/\d/);
    expect(Number(await text(page, 'threads'))).toBeGreaterThan(0);

    writeFileSync(gatePath, 'open');
    await waitText(page, 'succeeded', String(before + 6));
    await waitText(page, 'running', '0');
    await heldRow.waitFor({ state: 'detached', timeout: WAIT_MS });

    // A task that fails for good shows in the failures (from the event stream) and the dead letters.
    const downPath = join(dir, 'down');
    writeFileSync(downPath, '');
    const doomed = await submit({ agent: 'fixable', input: { down: downPath } });
    const deadRow = page.locator(`#dead-rows tr[data-task-id="${doomed}"]`);
    await deadRow.waitFor({ timeout: WAIT_MS });
    expect(await deadRow.textContent()).toContain('ECONNREFUSED: dependency is down');
    const failureRow = page.locator(`#failure-rows tr[data-task-id="${doomed}"]`);
    await failureRow.waitFor({ timeout: WAIT_MS });
    expect(await failureRow.textContent()).toContain('dead');
    await waitText(page, 'dead-letters', '1');

    // The dependency is back: a click, confirmed in the page's dialog, redrives the task, and it succeeds.
    unlinkSync(downPath);
    await deadRow.getByRole('button', { name: 'Redrive' }).click();
    await page.locator('[data-testid="confirm-ok"]').click();
    await deadRow.waitFor({ state: 'detached', timeout: WAIT_MS });
    await until(async () => (await task(doomed)).state === 'succeeded', 'the redriven task to succeed');
    expect(await task(doomed)).toMatchObject({ state: 'succeeded', result: 'ok' });
    expect((await snapshot()).counters.redriven).toBe(1);
    await waitText(page, 'dead-letters', '0');
    await waitText(page, 'succeeded', String(before + 7));

    expect(problems).toEqual([]);
    await context.close();
  });
  it('signs in through the login page (a wrong token refused), stays signed in, and signs out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => void problems.push(`page error: ${err.message}`));
    // No token yet: the page itself is the login form, not a JSON error.
    await page.goto(`${url}/`);
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: WAIT_MS });
    expect(await page.title()).toBe('Troupe — sign in');
    await page.fill('[data-testid="login-token"]', 'not-the-token-at-all');
    await page.click('[data-testid="login-submit"]');
    await expect.poll(() => page.locator('.error').textContent(), { timeout: WAIT_MS }).toContain('not this daemon');
    await page.screenshot({ path: join(OUTPUT, 'dashboard-login-refused.png') });
    await page.fill('[data-testid="login-token"]', TOKEN);
    await page.click('[data-testid="login-submit"]');
    await waitText(page, 'status', 'live');
    expect(page.url()).toBe(`${url}/`);
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'troupe_token', httpOnly: true, sameSite: 'Strict' });
    expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000 + 29 * 24 * 3600); // remembered for 30 days
    // A second page of the same browser is signed in already.
    const again = await context.newPage();
    await again.goto(`${url}/`);
    await waitText(again, 'status', 'live');
    await page.click('[data-testid="sign-out"] button');
    await page.locator('[data-testid="login-form"]').waitFor({ timeout: WAIT_MS });
    expect(await context.cookies()).toEqual([]);
    // The other page's next poll is refused: it goes to the login page too.
    await again.locator('[data-testid="login-form"]').waitFor({ timeout: WAIT_MS });
    expect(problems).toEqual([]);
    await context.close();
  });
});

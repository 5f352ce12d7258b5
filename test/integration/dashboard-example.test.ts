// The walk-through (issue 19) in headless Chromium against the example daemon (`troupe daemon --example`, as
// `npm start` runs it): the overview's charts are full from the daemon's history when the page opens; a dead letter
// of the flaky agent is found by the text of its error, opened, its input and attempts read, redriven through the
// dialog, and seen to succeed. Screenshots go to test-results/.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers.js';
import { CHROMIUM, CHROMIUM_ARGS, WAIT_MS, OUTPUT, skipBrowser as skipBrowserIn } from './dashboard-support.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = resolve(ROOT, 'dist/cli.js');
const skipBrowser = skipBrowserIn('dashboard-example.test.ts');

async function until<T>(read: () => Promise<T | undefined>, what: string): Promise<T> {
  for (const deadline = Date.now() + WAIT_MS; ; ) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exited = (child: ChildProcess): Promise<number | null> => new Promise((r) => child.once('exit', (code) => r(code)));

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  await expect.poll(condition, { timeout: WAIT_MS, interval: 100, message: what }).toBe(true);
}
const text = async (page: Page, testId: string): Promise<string> => (await page.locator(`[data-testid="${testId}"]`).first().textContent()) ?? '';

describe.skipIf(skipBrowser)('the walk-through against the example daemon, in headless Chromium', () => {
  it('charts full on load; a dead letter found by text, read, redriven through the dialog, and succeeded', async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const env = { ...process.env, TROUPE_STATE_DIR: resolve(tempDir(), 'state'), TROUPE_PORT: '0', TROUPE_LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [CLI, 'daemon', '--example'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [, url, token] = await until(async () => /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)/.exec(out) ?? undefined, 'the banner');
    const bearer = { headers: { authorization: `Bearer ${decodeURIComponent(token!)}` } };
    const get = async <T>(path: string): Promise<T> => (await (await fetch(`${url}${path}`, bearer)).json()) as T;

    // The feed has run a while: a dead letter of the flaky agent, and some history.
    await until(async () => ((await get<{ tasks: unknown[] }>('/v1/dead-letters')).tasks.length > 0 ? true : undefined), 'a dead letter');
    await until(async () => ((await get<{ samples: unknown[] }>('/v1/metrics/history')).samples.length >= 8 ? true : undefined), 'eight seconds of history');

    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    onTestFinished(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => void problems.push(`page error: ${err.message}`));
    await page.goto(`${url}/?token=${token}`);
    await waitFor(async () => (await text(page, 'status')) === 'live', 'live');
    const throughput = page.locator('[data-testid="chart-throughput"]');
    await waitFor(async () => (await throughput.getAttribute('data-first-points')) !== null, 'the charts drawn');
    expect(Number(await throughput.getAttribute('data-first-points'))).toBeGreaterThanOrEqual(8);
    // Times of day on the time axis (never years), latency in one unit per axis.
    for (const label of JSON.parse((await throughput.getAttribute('data-x-labels'))!) as string[]) expect(label).toMatch(/^(\d\d:\d\d:\d\d)?$/);
    const latency = page.locator('[data-testid="chart-latency"]');
    await waitFor(async () => (JSON.parse((await latency.getAttribute('data-y-labels')) ?? '[]') as string[]).length > 1, 'latency labels');
    const units = (JSON.parse((await latency.getAttribute('data-y-labels'))!) as string[]).map((l) => /^[\d.]+ (ms|s|min)$/.exec(l)?.[1]);
    expect(new Set(units).size, JSON.stringify(units)).toBe(1);
    expect(units[0]).toBeDefined();
    await page.screenshot({ path: join(OUTPUT, 'dashboard-example-overview.png'), fullPage: true });

    // Find it by the text of its error, on the dead tab.
    await page.locator('[data-testid="nav-tasks"]').click();
    await page.locator('[data-testid="tab-dead"]').click();
    await page.fill('[data-testid="filter-search"]', 'upstream refused');
    await page.press('[data-testid="filter-search"]', 'Enter');
    const row = page.locator('[data-testid="task-list"] tbody tr').first();
    await row.waitFor({ timeout: WAIT_MS });
    expect(await row.locator('[data-testid="row-note"]').textContent()).toMatch(/GET \/items\/\d+: the upstream refused the request/);
    expect(Number(await text(page, 'count-dead'))).toBeGreaterThan(0);
    await page.screenshot({ path: join(OUTPUT, 'dashboard-example-dead.png'), fullPage: true });
    const id = (await row.getAttribute('data-task-id'))!;

    // Its input and its one attempt.
    await row.locator('a.task-link').click();
    await waitFor(async () => (await text(page, 'task-state')) === 'dead', 'the dead task open');
    expect(JSON.parse(await text(page, 'task-input-value'))).toMatchObject({ call: expect.stringMatching(/^GET \/items\/\d+$/), fail: 'dead' });
    expect(await page.locator('[data-testid="task-history"] li[data-outcome="failed"]').count()).toBe(1);

    // Redriven through the dialog: it runs again and succeeds.
    await page.locator('[data-testid="task-redrive"]').click();
    await page.locator('[data-testid="confirm-ok"]').click();
    await waitFor(async () => (await text(page, 'task-state')) === 'succeeded', 'the redriven task to succeed');
    expect((await get<{ state: string }>(`/v1/tasks/${id}`)).state).toBe('succeeded');
    await page.screenshot({ path: join(OUTPUT, 'dashboard-example-redriven.png'), fullPage: true });
    expect(problems).toEqual([]);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  }, 240_000);
});

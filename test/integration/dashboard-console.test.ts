// The dashboard as a console (issue 19), in headless Chromium against a real daemon: task lists by state with counts,
// search, filters kept in the address, paging; a task's input, history and why it waits; the actions behind the
// page's own confirmation dialog (cancel, redrive one and all, force a breaker, pause and resume an agent); charts
// filled from the daemon's history on first paint, with readable axes. Screenshots go to test-results/.
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import type { RunningDaemon } from '../../dist/daemon/daemon.js';
import type { TaskInfo } from '../../dist/index.js';
import { agentPath } from '../helpers.js';
import { dashboardDaemon, TOKEN, CHROMIUM, CHROMIUM_ARGS, WAIT_MS, OUTPUT, skipBrowser as skipBrowserIn } from './dashboard-support.js';

const skipBrowser = skipBrowserIn('dashboard-console.test.ts');

const WIDE = { width: 1400, height: 1000 };
const FAST_RETRY = { attempts: 2, backoff: { initialMs: 10, factor: 1, maxMs: 10, jitter: 0 } };

let dir: string;
let daemon: RunningDaemon;
let url: string;
let tcp: Endpoint;
let browser: Browser;
const started = Date.now();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'troupe-dashboard-console-'));
  const agents = {
    echo: { module: agentPath('echo') },
    gate: { module: agentPath('gate') },
    // Fails while its `down` file exists: two quick attempts, then a dead letter.
    fixable: { module: agentPath('dependency'), retry: FAST_RETRY },
    // One attempt: a dead letter at once (four of them stay below the breaker's five failures in a row).
    brittle: { module: agentPath('dependency'), retry: { attempts: 1 } },
    guarded: { module: agentPath('echo') },
    pausable: { module: agentPath('echo') },
  };
  ({ daemon, url, tcp } = await dashboardDaemon(dir, agents, TOKEN));
});

afterAll(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const reply = await callDaemon(tcp, method, path, body);
  expect(reply.status, `${method} ${path}: ${JSON.stringify(reply.body)}`).toBeLessThan(300);
  return reply.body as T;
}

const submit = async (task: Record<string, unknown>): Promise<string> => (await api<{ id: string }>('POST', '/v1/tasks', task)).id;
const task = (id: string): Promise<TaskInfo> => api<TaskInfo>('GET', `/v1/tasks/${id}`);

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  await expect.poll(condition, { timeout: WAIT_MS, interval: 50, message: what }).toBe(true);
}
const waitState = (id: string, state: string) => waitFor(async () => (await task(id)).state === state, `task ${id} ${state}`);

const text = async (page: Page, testId: string): Promise<string> => (await page.locator(`[data-testid="${testId}"]`).first().textContent()) ?? '';
const waitText = (page: Page, testId: string, want: string | RegExp) =>
  waitFor(async () => (typeof want === 'string' ? (await text(page, testId)) === want : want.test(await text(page, testId))), `[data-testid="${testId}"] reads ${String(want)}`);

/** Answers the page's confirmation dialog: checks what it asks, then confirms (or cancels). */
async function answer(page: Page, asks: RegExp, confirm = true): Promise<void> {
  const dialog = page.locator('[data-testid="confirm"]');
  await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
  expect(await text(page, 'confirm-text')).toMatch(asks);
  await page.locator(`[data-testid="${confirm ? 'confirm-ok' : 'confirm-cancel'}"]`).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
}

async function newPage() {
  const context = await browser.newContext({ viewport: WIDE });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  page.on('pageerror', (err) => void problems.push(`page error: ${err.message}`));
  await page.goto(`${url}/?token=${TOKEN}`);
  await waitText(page, 'status', 'live');
  return { context, page, problems };
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(OUTPUT, name), fullPage: true });

describe.skipIf(skipBrowser)('the dashboard as a console, in headless Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)`);
    mkdirSync(OUTPUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('finds a dead task by text, shows its input and attempts, redrives it through the dialog, and sees it succeed', async () => {
    const down = join(dir, 'down');
    writeFileSync(down, '');
    const id = await submit({ agent: 'fixable', input: { down, order: 'order-7731-blue' } });
    await submit({ agent: 'echo', input: { order: 'order-1234-red' } });
    await waitState(id, 'dead');
    const { context, page, problems } = await newPage();

    // Search by text from the task list; the filters go into the address.
    await page.locator('[data-testid="nav-tasks"]').click();
    await page.fill('[data-testid="filter-search"]', 'order-7731');
    await page.press('[data-testid="filter-search"]', 'Enter');
    const rows = page.locator('[data-testid="task-list"] tbody tr');
    await waitFor(async () => (await rows.count()) === 1 && (await rows.first().getAttribute('data-task-id')) === id, 'the one task found');
    expect(page.url()).toContain('#/tasks?search=order-7731');
    await waitText(page, 'count-all', '1');
    await waitText(page, 'count-dead', '1');
    expect(await rows.first().locator('[data-testid="row-note"]').textContent()).toContain('ECONNREFUSED: dependency is down');
    // The address is the view: a reload shows it again.
    await page.reload();
    await waitFor(async () => (await rows.count()) === 1, 'the filtered list after a reload');
    expect(await page.inputValue('[data-testid="filter-search"]')).toBe('order-7731');
    await shot(page, 'dashboard-console-search.png');

    // Its detail: input, error, both attempts.
    await rows.first().locator('a.task-link').click();
    await waitText(page, 'task-state', 'dead');
    expect(JSON.parse(await text(page, 'task-input-value'))).toEqual({ down, order: 'order-7731-blue' });
    expect(await text(page, 'task-error-message')).toContain('ECONNREFUSED: dependency is down');
    const attempts = page.locator('[data-testid="task-history"] li');
    expect(await attempts.count()).toBe(2);
    expect(await attempts.evaluateAll((lis) => lis.map((li) => li.getAttribute('data-outcome')))).toEqual(['failed', 'failed']);
    expect(await attempts.first().locator('[data-testid="run-times"]').textContent()).toMatch(/^\d\d:\d\d:\d\d → \d\d:\d\d:\d\d · /);
    expect(await attempts.first().locator('[data-testid="run-detail"]').textContent()).toContain('ECONNREFUSED');
    await shot(page, 'dashboard-console-dead-task.png');

    // Redrive: the dialog asks first; cancelling it does nothing.
    unlinkSync(down);
    await page.locator('[data-testid="task-redrive"]').click();
    await answer(page, new RegExp(`Redrive dead task ${id}`), false);
    expect((await task(id)).state).toBe('dead');
    await page.locator('[data-testid="task-redrive"]').click();
    await answer(page, new RegExp(`Redrive dead task ${id}`));
    await waitText(page, 'notice', /redriven/);
    await waitText(page, 'task-state', 'succeeded');
    expect(await page.locator('[data-testid="task-redrive"]').count()).toBe(0);
    await waitFor(async () => (await attempts.last().getAttribute('data-outcome')) === 'succeeded', 'the succeeded attempt on the timeline');
    await shot(page, 'dashboard-console-redriven.png');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('forces a breaker open, says why a queued task waits, and closes it again', async () => {
    const { context, page, problems } = await newPage();
    const row = page.locator('[data-breaker="agent:guarded"]');
    await row.waitFor({ timeout: WAIT_MS });
    await row.locator('[data-testid="breaker-open"]').click();
    await answer(page, /Force breaker agent:guarded open/);
    await waitText(page, 'notice', /Breaker agent:guarded is open/);
    await waitFor(async () => (await row.locator('.badge').textContent()) === 'open (forced)', 'the breaker open');

    const id = await submit({ agent: 'guarded', input: { held: true } });
    await page.goto(`${url}/#/tasks?state=queued&agent=guarded`);
    const listed = page.locator(`[data-testid="task-list"] tr[data-task-id="${id}"]`);
    await listed.waitFor({ timeout: WAIT_MS });
    await waitFor(async () => /waiting for breaker agent:guarded \(forced open/.test((await listed.locator('[data-testid="row-note"]').textContent()) ?? ''), 'the wait in the list');
    await listed.locator('a.task-link').click();
    await waitText(page, 'task-waiting', 'waiting for breaker agent:guarded (forced open, until closed by hand)');
    expect((await task(id)).state).toBe('queued');
    await shot(page, 'dashboard-console-breaker-wait.png');

    await page.locator('[data-testid="nav-overview"]').click();
    await row.locator('[data-testid="breaker-close"]').click();
    await answer(page, /Force breaker agent:guarded closed/);
    await waitFor(async () => (await row.locator('.badge').textContent()) === 'closed', 'the breaker closed');
    await waitState(id, 'succeeded');
    expect(problems).toEqual([]);
    await context.close();
  });

  it("pauses an agent's intake, says so on a queued task, resumes it and the task runs", async () => {
    const { context, page, problems } = await newPage();
    const row = page.locator('[data-agent="pausable"]');
    await row.waitFor({ timeout: WAIT_MS });
    await row.locator('[data-testid="agent-pause"]').click();
    await answer(page, /Pause agent pausable's intake/);
    await waitFor(async () => (await row.locator('[data-testid="agent-intake"]').textContent()) === 'paused', 'the agent paused');
    await waitText(page, 'notice', /Agent pausable paused/);

    const id = await submit({ agent: 'pausable', input: 'later' });
    await page.goto(`${url}/#/tasks/${id}`);
    await waitText(page, 'task-waiting', "paused: agent pausable's intake is paused");
    await waitText(page, 'task-state', 'queued');
    await shot(page, 'dashboard-console-paused.png');

    await page.locator('[data-testid="nav-overview"]').click();
    await row.locator('[data-testid="agent-resume"]').click();
    await answer(page, /Resume agent pausable's intake/);
    await waitFor(async () => (await row.locator('[data-testid="agent-intake"]').textContent()) === 'open', 'the agent resumed');
    await waitState(id, 'succeeded');
    await page.goto(`${url}/#/tasks/${id}`);
    await waitText(page, 'task-state', 'succeeded');
    expect(await page.locator('[data-testid="task-waiting"]').count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('cancels a running task through the dialog', async () => {
    const { context, page, problems } = await newPage();
    const id = await submit({ agent: 'gate', input: { gate: join(dir, 'never') } });
    await page.goto(`${url}/#/tasks/${id}`);
    await waitText(page, 'task-state', 'running');
    await page.locator('[data-testid="task-cancel"]').click();
    await answer(page, new RegExp(`Cancel task ${id}\\?`));
    await waitText(page, 'notice', /cancelled/);
    await waitText(page, 'task-state', 'cancelled');
    expect((await task(id)).state).toBe('cancelled');
    expect(await page.locator('[data-testid="task-cancel"]').count()).toBe(0);
    await shot(page, 'dashboard-console-cancelled.png');
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows the daemon's error when it refuses an action, then the task as it is now", async () => {
    const down = join(dir, 'down-refused');
    writeFileSync(down, '');
    const id = await submit({ agent: 'brittle', input: { down } });
    await waitState(id, 'dead');
    const { context, page, problems } = await newPage();
    await page.goto(`${url}/#/tasks/${id}`);
    await waitText(page, 'task-state', 'dead');
    // Redriven elsewhere meanwhile (a dead task's page does not poll): the page's redrive is refused.
    unlinkSync(down);
    await api('POST', '/v1/dead-letters/redrive', { ids: [id] });
    await waitState(id, 'succeeded');
    await page.locator('[data-testid="task-redrive"]').click();
    await answer(page, /Redrive dead task/);
    await waitText(page, 'notice', /^Redrive task failed: .*must name a dead task \(it is succeeded\)/);
    expect(await page.locator('[data-testid="notice"]').getAttribute('data-state')).toBe('error');
    await waitText(page, 'task-state', 'succeeded');
    expect(await page.locator('[data-testid="task-redrive"]').count()).toBe(0);
    await shot(page, 'dashboard-console-refused.png');
    // The browser itself logs the refused request.
    expect(problems.filter((p) => !/status of 409|status of 400/.test(p))).toEqual([]);
    await context.close();
  });

  it('lists tasks by state with counts, newest first, ten a page, and redrives every dead task matching the filters', async () => {
    const { ids } = await api<{ ids: string[] }>('POST', '/v1/tasks', Array.from({ length: 30 }, (_, n) => ({ agent: 'echo', group: 'batch-30', input: n })));
    for (const id of ids) await waitState(id, 'succeeded');
    const { context, page, problems } = await newPage();
    await page.goto(`${url}/#/tasks?group=batch-30&limit=10`);
    const rows = page.locator('[data-testid="task-list"] tbody tr');
    const shown = () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task-id')));
    await waitText(page, 'page-info', '1–10 of 30');
    await waitText(page, 'count-all', '30');
    await waitText(page, 'count-succeeded', '30');
    await waitText(page, 'count-dead', '0');
    const newest = [...ids].reverse();
    expect(await shown()).toEqual(newest.slice(0, 10));
    await shot(page, 'dashboard-console-list.png');

    await page.locator('[data-testid="page-next"]').click();
    await waitText(page, 'page-info', '11–20 of 30');
    expect(await shown()).toEqual(newest.slice(10, 20));
    await page.locator('[data-testid="page-next"]').click();
    await waitText(page, 'page-info', '21–30 of 30');
    expect(await shown()).toEqual(newest.slice(20, 30));
    expect(await page.locator('[data-testid="page-next"]').isDisabled()).toBe(true);
    await page.locator('[data-testid="page-prev"]').click();
    await waitText(page, 'page-info', '11–20 of 30');
    await page.locator('[data-testid="page-first"]').click();
    await waitText(page, 'page-info', '1–10 of 30');

    // Oldest first; then a state with none.
    await page.locator('[data-testid="filter-newest"]').uncheck();
    await waitFor(async () => JSON.stringify(await shown()) === JSON.stringify(ids.slice(0, 10)), 'the oldest ten');
    expect(page.url()).toContain('newest=0');
    await page.locator('[data-testid="tab-dead"]').click();
    await waitFor(() => page.locator('[data-testid="task-list-empty"]').isVisible(), 'no dead task in the batch');

    // The other filters: agent, time range (an unreadable time is said so), all kept in the address.
    await page.goto(`${url}/#/tasks?group=batch-30&agent=fixable`);
    await waitText(page, 'count-all', '0');
    await page.goto(`${url}/#/tasks?group=batch-30&agent=echo&since=1h`);
    await waitText(page, 'count-all', '30');
    expect(await page.inputValue('[data-testid="filter-since"]')).toBe('1h');
    await page.fill('[data-testid="filter-since"]', '');
    await page.fill('[data-testid="filter-until"]', '1h');
    await page.press('[data-testid="filter-until"]', 'Enter');
    await waitText(page, 'count-all', '0');
    expect(page.url()).toContain('until=1h');
    await page.fill('[data-testid="filter-until"]', 'last tuesday');
    await page.press('[data-testid="filter-until"]', 'Enter');
    await waitText(page, 'task-list-problem', /"last tuesday" is not a time/);

    // Redrive all: three dead letters of one group, not the others.
    const down = join(dir, 'down-all');
    writeFileSync(down, '');
    const dead = await Promise.all([1, 2, 3].map((n) => submit({ agent: 'brittle', group: 'dead-3', input: { down, n } })));
    const other = await submit({ agent: 'brittle', group: 'dead-other', input: { down } });
    for (const id of [...dead, other]) await waitState(id, 'dead');
    await page.goto(`${url}/#/tasks?state=dead&group=dead-3`);
    await waitText(page, 'redrive-all', 'Redrive all 3 matching');
    unlinkSync(down);
    await page.locator('[data-testid="redrive-all"]').click();
    await answer(page, /Redrive every dead task matching group dead-3 \(3 now\)/);
    await waitText(page, 'notice', '3 dead tasks redriven.');
    for (const id of dead) await waitState(id, 'succeeded');
    expect((await task(other)).state).toBe('dead');
    await waitText(page, 'count-dead', '0');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('draws the charts from the daemon history on first paint, with HH:MM:SS times and labels that fit', async () => {
    // The daemon has sampled its figures once a second since it started.
    await waitFor(async () => Date.now() - started > 10_000, 'ten seconds of history');
    const history = await api<{ intervalMs: number; samples: { at: number; p95: number | null }[] }>('GET', '/v1/metrics/history');
    expect(history.intervalMs).toBe(1000);
    expect(history.samples.length).toBeGreaterThanOrEqual(8);
    expect(history.samples.length).toBeLessThanOrEqual(300);

    const { context, page, problems } = await newPage();
    for (const id of ['chart-throughput', 'chart-latency', 'chart-queue', 'chart-threads']) {
      const chart = page.locator(`[data-testid="${id}"]`);
      await waitFor(async () => (await chart.getAttribute('data-first-points')) !== null, `${id} drawn`);
      expect(Number(await chart.getAttribute('data-first-points')), id).toBeGreaterThanOrEqual(8);
      const xLabels = JSON.parse((await chart.getAttribute('data-x-labels'))!) as string[];
      expect(xLabels.length, id).toBeGreaterThan(1);
      for (const label of xLabels.filter(Boolean)) expect(label, id).toMatch(/^\d\d:\d\d:\d\d$/);
      // The widest y label, measured in the axis font, fits left of the plot (with the tick and the gap).
      const fit = await chart.evaluate((n: unknown) => {
        const node = n as { dataset: Record<string, string> };
        const labels = JSON.parse(node.dataset.yLabels!) as string[];
        const doc = (globalThis as unknown as { document: { createElement(t: string): { getContext(c: string): { font: string; measureText(s: string): { width: number } } } } }).document;
        const ctx = doc.createElement('canvas').getContext('2d');
        ctx.font = node.dataset.axisFont!;
        return { labels, widest: Math.max(...labels.map((l) => ctx.measureText(l).width)), left: Number(node.dataset.plotLeft) };
      });
      expect(fit.labels.length, id).toBeGreaterThan(1);
      expect(fit.widest + 10 + 5, `${id}: ${JSON.stringify(fit)}`).toBeLessThanOrEqual(fit.left);
      if (id === 'chart-latency') for (const label of fit.labels) expect(label).toMatch(/^[\d.]+ (ms|s|min)$/);
    }
    expect(await text(page, 'updated')).toMatch(/^updated \d\d:\d\d:\d\d$/);
    await shot(page, 'dashboard-console-overview.png');
    expect(problems).toEqual([]);
    await context.close();
  });
});

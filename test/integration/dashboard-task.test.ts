// The dashboard's task detail (#/tasks/<id>) in headless Chromium against a real daemon: the task's facts, its
// workspace when the task has one, and its output streamed live from GET /v1/tasks/:id/logs?follow=1.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon, type Endpoint } from '../../dist/daemon/client.js';
import type { RunningDaemon } from '../../dist/daemon/daemon.js';
import type { TaskInfo } from '../../dist/index.js';
import { agentPath } from '../helpers.js';
import { dashboardDaemon, TOKEN, CHROMIUM, CHROMIUM_ARGS, WAIT_MS, OUTPUT, skipBrowser as skipBrowserIn } from './dashboard-support.js';

const skipBrowser = skipBrowserIn('dashboard-task.test.ts');

/** Where the screenshots go (the test's output; not kept in git). */

// Prints `line N` every 100 ms (and `warning N` on stderr at every fifth), a line of markup at the third, and
// waits for the gate file before line 6: the test sees the first lines while the task is still running.
const PRINTER = `
import { existsSync, writeFileSync } from 'node:fs';
writeFileSync('made-by-printer.txt', 'x'); // in its git worktree (the agent has a workspace)
const [gate, total] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const write = (stream, s) => new Promise((r) => stream.write(s, r));
for (let n = 1; n <= Number(total); n += 1) {
  if (n === 6) while (!existsSync(gate)) await sleep(20);
  await write(process.stdout, 'line ' + n + '\\n');
  if (n % 5 === 0) await write(process.stderr, 'warning ' + n + '\\n');
  if (n === 3) await write(process.stdout, '<b>not bold</b> & <img src=x onerror="window.pwned = 1">\\n');
  await sleep(100);
}
`;
// Two lines on stdout, one on stderr, then exit 1: every attempt fails.
const FAILER = `
const attempt = process.env.TROUPE_ATTEMPT;
process.stdout.write('starting attempt ' + attempt + '\\nworking on attempt ' + attempt + '\\n');
process.stderr.write('boom on attempt ' + attempt + '\\n', () => process.exit(1));
`;

// 200 lines on stderr, then (once the gate file is there) 5,800 more in bursts: more than the page keeps.
const FLOOD = `
import { existsSync } from 'node:fs';
const gate = process.argv[2];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const write = (s) => new Promise((r) => process.stderr.write(s, r));
for (let n = 1; n <= 6000; n += 100) {
  if (n === 201) while (!existsSync(gate)) await sleep(20);
  await write(Array.from({ length: 100 }, (_, i) => 'flood ' + (n + i) + '\\n').join(''));
  await sleep(10);
}
`;

let dir: string;
let daemon: RunningDaemon;
let url: string;
let tcp: Endpoint;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'troupe-dashboard-task-'));
  writeFileSync(join(dir, 'printer.mjs'), PRINTER);
  writeFileSync(join(dir, 'flood.mjs'), FLOOD);
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  writeFileSync(join(repo, 'README.md'), 'a repository\n');
  for (const args of [['init', '-q', '-b', 'main'], ['add', 'README.md'], ['commit', '-q', '-m', 'first']]) {
    execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.test', '-C', repo, ...args]);
  }
  const agents = {
    printer: { command: process.execPath, args: [join(dir, 'printer.mjs'), join(dir, 'gate'), '30'], output: 'text', workspace: { git: join(dir, 'repo'), keep: 'always' } },
    manager: { module: agentPath('manager') },
    echo: { module: agentPath('echo') },
    flood: { command: process.execPath, args: [join(dir, 'flood.mjs'), join(dir, 'flood-gate')], output: 'text' },
    failer: { command: process.execPath, args: ['-e', FAILER], output: 'text', retry: { attempts: 2, backoff: { initialMs: 10, factor: 1, maxMs: 10, jitter: 0 } } },
  };
  ({ daemon, url, tcp } = await dashboardDaemon(dir, agents, TOKEN));
});

afterAll(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function submit(task: Record<string, unknown>): Promise<string> {
  const reply = await callDaemon(tcp, 'POST', '/v1/tasks', task);
  expect(reply.status).toBe(201);
  return (reply.body as { id: string }).id;
}

const task = async (id: string): Promise<TaskInfo> => (await callDaemon(tcp, 'GET', `/v1/tasks/${id}`)).body as TaskInfo;

/** The text of each log line shown (the line itself, without its time and stream). */
const shownLines = (page: Page): Promise<string[]> => page.locator('[data-testid="log-lines"] .log-line .log-text').allTextContents();

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  await expect.poll(condition, { timeout: WAIT_MS, interval: 50, message: what }).toBe(true);
}

describe.skipIf(skipBrowser)('dashboard task detail in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)`);
    mkdirSync(OUTPUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** A fresh page that records console errors (unless `consoleErrors` is false) and page errors in `problems`. */
  async function newPage(options: { viewport?: { width: number; height: number }; consoleErrors?: boolean } = {}) {
    const context = await browser.newContext(options.viewport === undefined ? {} : { viewport: options.viewport });
    const page = await context.newPage();
    const problems: string[] = [];
    if (options.consoleErrors !== false) page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
    page.on('pageerror', (err) => void problems.push(`page error: ${err.message}`));
    return { context, page, problems };
  }
  const WIDE = { width: 1400, height: 1000 };

  it('opens a running task from its id, shows its output as it comes, then the whole log when it ends', async () => {
    const { context, page, problems } = await newPage({ viewport: WIDE });

    await page.goto(`${url}/?token=${TOKEN}`);
    await expect.poll(() => page.textContent('[data-testid="status"]'), { timeout: WAIT_MS }).toBe('live');

    const id = await submit({ agent: 'printer', input: null });
    // Its id in the running tasks is a link to its detail.
    const link = page.locator(`#running-rows tr[data-task-id="${id}"] a.task-link`);
    await link.waitFor({ timeout: WAIT_MS });
    await link.click();
    await page.locator('[data-testid="task-detail"]').waitFor({ timeout: WAIT_MS });
    expect(page.url()).toBe(`${url}/#/tasks/${id}`);
    expect(await page.locator('[data-testid="task-id"]').textContent()).toBe(id);
    await waitFor(async () => (await page.locator('[data-testid="task-agent"]').textContent()) === 'printer', 'the task facts');

    // The first lines, while the task still runs (it waits for the gate before line 6).
    await waitFor(async () => (await shownLines(page)).includes('warning 5'), 'the first lines while the task runs');
    expect((await task(id)).state).toBe('running');
    expect(await page.locator('[data-testid="task-state"]').textContent()).toBe('running');
    expect(await page.locator('[data-testid="log-status"]').getAttribute('data-state')).toBe('live');
    expect(await shownLines(page)).toEqual(['line 1', 'line 2', 'line 3', '<b>not bold</b> & <img src=x onerror="window.pwned = 1">', 'line 4', 'line 5', 'warning 5']);
    // Markup from the task is text: no element was made of it.
    expect(await page.locator('[data-testid="log-lines"] b, [data-testid="log-lines"] img').count()).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    // stderr looks different from stdout.
    const stderr = page.locator('[data-testid="log-lines"] .log-line[data-stream="stderr"]');
    const stdout = page.locator('[data-testid="log-lines"] .log-line[data-stream="stdout"]').first();
    expect(await stderr.count()).toBe(1);
    // The line's background and its text's colour (the test's types have no DOM library: hence the cast).
    type Styled = { getComputedStyle(e: unknown): { backgroundColor: string; color: string } };
    const colour = (l: typeof stdout) =>
      l.evaluate((n) => {
        const { getComputedStyle } = globalThis as unknown as Styled;
        return [getComputedStyle(n).backgroundColor, getComputedStyle(n.querySelector('.log-text')).color].join(' ');
      });
    expect(await colour(stderr)).not.toBe(await colour(stdout));

    // The workspace section shows the task's git worktree (the printer agent has a workspace).
    const ws = (await task(id)).workspace!;
    await waitFor(async () => (await page.locator('[data-testid="workspace-branch"]').textContent()) === `troupe/${id}`, 'the worktree shown');
    expect(await page.locator('[data-testid="workspace-path"]').textContent()).toBe(ws.path);
    expect(await page.locator('[data-testid="task-workspace"]').textContent()).not.toMatch(/undefined|null/);
    await page.screenshot({ path: join(OUTPUT, 'dashboard-task-running.png'), fullPage: true });

    // The rest, as it comes, and the stream ends with the task.
    writeFileSync(join(dir, 'gate'), 'open');
    await waitFor(async () => (await page.locator('[data-testid="log-status"]').getAttribute('data-state')) === 'ended', 'the log stream to end');
    const want = Array.from({ length: 30 }, (_, i) => i + 1).flatMap((n) => [`line ${n}`, ...(n === 3 ? ['<b>not bold</b> & <img src=x onerror="window.pwned = 1">'] : []), ...(n % 5 === 0 ? [`warning ${n}`] : [])]);
    expect(await shownLines(page)).toEqual(want);
    expect(await stderr.count()).toBe(6);
    expect((await task(id)).state).toBe('succeeded');
    await waitFor(async () => (await page.locator('[data-testid="task-state"]').textContent()) === 'succeeded', 'the state to read succeeded');
    // After the run: the files it changed in its worktree.
    await waitFor(async () => (await page.locator('[data-testid="workspace-files"] li').allTextContents()).includes('made-by-printer.txt'), 'the changed files');
    expect(await page.locator('[data-testid="task-result-value"]').textContent()).toContain('line 30');
    // Kept at the bottom as lines came.
    expect(await page.locator('[data-testid="log-lines"]').evaluate((n) => n.scrollHeight - n.scrollTop - n.clientHeight)).toBeLessThanOrEqual(8);
    await page.screenshot({ path: join(OUTPUT, 'dashboard-task.png'), fullPage: true });

    // Back to the overview.
    await page.locator('[data-testid="task-close"]').click();
    await page.locator('[data-testid="task-detail"]').waitFor({ state: 'hidden', timeout: WAIT_MS });
    expect(await page.locator('[data-testid="running-tasks"]').isVisible()).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('opens a task by its id, and a failed task from the dead letters, with its error and one attempt at a time', async () => {
    const { context, page, problems } = await newPage({ viewport: WIDE });
    await page.goto(`${url}/?token=${TOKEN}`);
    // The browser itself reports the 404 of the unknown id below.
    const ours = (p: string) => !/Failed to load resource: the server responded with a status of 404/.test(p);

    const id = await submit({ agent: 'failer', input: null });
    const deadLink = page.locator(`#dead-rows tr[data-task-id="${id}"] a.task-link`);
    await deadLink.waitFor({ timeout: WAIT_MS });
    expect((await task(id)).state).toBe('dead');

    // An unknown id says so; a known one opens.
    await page.fill('[data-testid="open-task-id"]', 'no-such-task');
    await page.press('[data-testid="open-task-id"]', 'Enter');
    await waitFor(async () => (await page.locator('[data-testid="task-problem"]').textContent()) === 'No task has the id no-such-task.', 'the unknown id to be reported');
    await page.fill('[data-testid="open-task-id"]', id);
    await page.press('[data-testid="open-task-id"]', 'Enter');
    await waitFor(async () => (await page.locator('[data-testid="task-state"]').textContent()) === 'dead', 'the dead task to open');
    expect(await page.locator('[data-testid="task-problem"]').isHidden()).toBe(true);
    expect(await page.locator('[data-testid="task-workspace"]').isHidden()).toBe(true);
    expect(await page.locator('[data-testid="task-error-message"]').textContent()).toMatch(/exit/i);
    expect(await page.locator('[data-testid="task-history"] li').count()).toBe(2);

    // Both attempts, each under its heading, then the stream ends (the task is over).
    await waitFor(async () => (await page.locator('[data-testid="log-status"]').getAttribute('data-state')) === 'ended', 'the log to end');
    expect(await page.locator('[data-testid="log-lines"] .log-attempt').allTextContents()).toEqual(['attempt 1', 'attempt 2']);
    expect((await shownLines(page)).sort()).toEqual([1, 2].flatMap((a) => [`starting attempt ${a}`, `working on attempt ${a}`, `boom on attempt ${a}`]).sort());

    // One attempt at a time.
    expect(await page.locator('[data-testid="log-attempt"]').isVisible()).toBe(true);
    await page.selectOption('[data-testid="log-attempt"]', '2');
    await waitFor(async () => (await shownLines(page)).every((l) => l.endsWith('attempt 2')) && (await shownLines(page)).length === 3, 'attempt 2 alone');
    await waitFor(async () => (await page.locator('[data-testid="log-status"]').getAttribute('data-state')) === 'ended', 'the attempt-2 log to end');
    expect(await page.locator('[data-testid="log-lines"] .log-attempt').count()).toBe(0);
    await page.screenshot({ path: join(OUTPUT, 'dashboard-task-failed.png'), fullPage: true });

    // From the dead letters: the overview, then a click on the id.
    await page.locator('[data-testid="task-close"]').click();
    await deadLink.click();
    await waitFor(async () => (await page.locator('[data-testid="task-id"]').textContent()) === id && (await page.locator('[data-testid="task-detail"]').isVisible()), 'the detail from the dead letters');
    expect(problems.filter(ours)).toEqual([]);
    await context.close();
  });

  it('keeps the last 5,000 lines, and stays where the reader scrolled to until asked back to the bottom', async () => {
    const { context, page, problems } = await newPage({ viewport: WIDE, consoleErrors: false });
    await page.goto(`${url}/?token=${TOKEN}`);
    const id = await submit({ agent: 'flood', input: null });
    await page.goto(`${url}/#/tasks/${id}`);
    const box = page.locator('[data-testid="log-lines"]');
    const fromBottom = () => box.evaluate((n) => n.scrollHeight - n.scrollTop - n.clientHeight);
    await waitFor(async () => (await shownLines(page)).length === 200, 'the first 200 lines');
    expect(await fromBottom()).toBeLessThanOrEqual(8);

    // The reader scrolls up: the view stays there while lines come, and offers the way back.
    await box.evaluate((n) => {
      n.scrollTop = 0;
    });
    await waitFor(() => page.locator('[data-testid="log-jump"]').isVisible(), 'the jump button');
    writeFileSync(join(dir, 'flood-gate'), 'open');
    await waitFor(async () => (await page.locator('[data-testid="log-status"]').getAttribute('data-state')) === 'ended', 'the flood to end');
    const lines = await shownLines(page);
    expect(lines).toHaveLength(5000);
    expect(lines[0]).toBe('flood 1001');
    expect(lines.at(-1)).toBe('flood 6000');
    expect(await page.locator('[data-testid="log-note"]').textContent()).toBe('The first 1,000 lines are not shown: the page keeps the last 5,000.');
    expect(await page.locator('[data-testid="log-status"]').textContent()).toBe('output ended: 6,000 lines');
    expect(await box.evaluate((n) => n.scrollTop)).toBe(0);
    await page.locator('[data-testid="log-jump"]').click();
    await waitFor(async () => (await fromBottom()) <= 8, 'back at the bottom');
    expect(await page.locator('[data-testid="log-jump"]').isHidden()).toBe(true);

    // Another task opened: none of this one's lines stay.
    await page.fill('[data-testid="open-task-id"]', 'no-such-task');
    await page.press('[data-testid="open-task-id"]', 'Enter');
    await waitFor(() => page.locator('[data-testid="task-problem"]').isVisible(), 'the unknown id to be reported');
    expect(await box.locator('*').count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('lists the children of a task as links, and a child links back to its parent', async () => {
    const { context, page, problems } = await newPage({ consoleErrors: false });
    const id = await submit({ agent: 'manager', input: { children: [{ agent: 'echo', input: 1 }, { agent: 'echo', input: 2 }] } });
    await expect.poll(async () => (await task(id)).state, { timeout: WAIT_MS }).toBe('succeeded');
    const kids = (await callDaemon(tcp, 'GET', `/v1/tasks/${id}/tree`)).body as { children: { task: TaskInfo }[] };
    const ids = kids.children.map((c) => c.task.id);
    expect(ids).toHaveLength(2);

    await page.goto(`${url}/?token=${TOKEN}`);
    await page.goto(`${url}/#/tasks/${id}`);
    const rows = page.locator('[data-testid="task-children"] tbody tr');
    await waitFor(async () => (await rows.count()) === 2, 'the two children');
    expect(await page.locator('[data-testid="task-children-count"]').textContent()).toBe('2 succeeded');
    await rows.locator(`a.task-link`).first().click();
    await waitFor(async () => (await page.locator('[data-testid="task-id"]').textContent()) === ids[0], 'the child to open');
    await waitFor(async () => (await page.locator('[data-testid="task-parent"]').textContent()) === id, 'the link to its parent');
    await page.locator('[data-testid="task-parent"] a').click();
    await waitFor(async () => (await page.locator('[data-testid="task-id"]').textContent()) === id, 'the parent to open again');
    expect(problems).toEqual([]);
    await context.close();
  });
});
